"""Turn a path into a LoadedImage. Format is recognised by content, not extension.

(Initial version: the I/O work item hardens DICOM handling and error messages.)
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .errors import ImageLoadError, NotAnImageError, UnreadableFileError
from .image import LoadedImage, Window

log = logging.getLogger(__name__)

MAX_SIDE = 16384

IMAGE_SUFFIXES = frozenset({".dcm", ".dicom", ".dic", ".png", ".jpg", ".jpeg", ""})


def sniff_kind(path: Path) -> str | None:
    """'dicom', 'png', 'jpeg' by magic bytes, or None."""
    with open(path, "rb") as fh:
        head = fh.read(132)
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[128:132] == b"DICM":
        return "dicom"
    return None


def load_image(path: str | Path) -> LoadedImage:
    path = Path(path)
    if not path.exists():
        raise UnreadableFileError(f"{path.name}: file not found")
    if path.is_dir():
        raise UnreadableFileError(f"{path.name}: is a folder, not a file")
    try:
        kind = sniff_kind(path)
    except OSError as exc:
        raise UnreadableFileError(f"{path.name}: cannot be read ({exc.strerror})") from exc
    if kind in ("png", "jpeg"):
        return _load_raster(path, kind)
    if kind == "dicom":
        return _load_dicom(path)
    raise NotAnImageError(f"{path.name}: not a DICOM, PNG or JPEG image")


def _load_raster(path: Path, kind: str) -> LoadedImage:
    from PIL import Image

    with Image.open(path) as im:
        bits = 16 if im.mode.startswith("I") else 8
        mode = im.mode
        if im.mode in ("RGB", "RGBA", "P", "LA", "CMYK"):
            im = im.convert("L")
        arr = np.asarray(im, dtype=np.float32)
    lo, hi = float(arr.min()), float(arr.max())
    full = Window("Full range", (lo + hi) / 2, max(hi - lo, 1.0))
    return LoadedImage(path=path, kind=kind, pixels=arr, window=full, presets=(full,),
                       photometric=mode, bits=bits)


def _load_dicom(path: Path) -> LoadedImage:
    import pydicom
    from pydicom.pixels import apply_modality_lut

    ds = pydicom.dcmread(path)
    arr = ds.pixel_array
    if getattr(ds, "NumberOfFrames", 1) and int(getattr(ds, "NumberOfFrames", 1)) > 1:
        arr = arr[0]
    arr = apply_modality_lut(arr, ds).astype(np.float32)
    lo, hi = float(arr.min()), float(arr.max())
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    if photometric == "MONOCHROME1":
        arr = (lo + hi) - arr
    full = Window("Full range", (lo + hi) / 2, max(hi - lo, 1.0))
    return LoadedImage(path=path, kind="dicom", pixels=arr, window=full, presets=(full,),
                       photometric=photometric, bits=int(ds.get("BitsStored", 8)),
                       modality=str(ds.get("Modality", "")),
                       body_part=str(ds.get("BodyPartExamined", "")),
                       view_position=str(ds.get("ViewPosition", "")))


__all__ = ["ImageLoadError", "load_image", "sniff_kind", "MAX_SIDE", "IMAGE_SUFFIXES"]
