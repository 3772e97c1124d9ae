"""Load a DICOM file into a LoadedImage (one frame, values on the file's scale, windows)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from cxrviewer.imaging.autowindow import auto_window, full_range_window

from .dicom_codecs import decode_frame
from .dicom_identity import read_identity
from .dicom_meta import flat_metadata
from .dicom_orientation import patient_axes
from .dicom_pixels import color_to_gray, is_color, modality_values, photometric_of, shows_inverted
from .dicom_read import read_dataset
from .dicom_windows import file_windows
from .errors import CorruptImageError
from .image import LoadedImage, Window

log = logging.getLogger(__name__)


def load_dicom(path: Path, bare: bool = False, frame_index: int = 0) -> LoadedImage:
    """``bare``: the file lacks the preamble and 'DICM' marker (see read_dataset).
    ``frame_index``: which frame (0-based) to decode; only that one is decoded."""
    ds = read_dataset(path, bare=bare)
    frames = max(_int(ds, "NumberOfFrames"), 1)
    if not 0 <= frame_index < frames:
        raise CorruptImageError(f"{path.name}: has no frame {frame_index + 1} (it holds {frames})")
    frame = decode_frame(ds, path, frame_index)
    pixels, windows, inverted = _display_values(ds, frame, path)
    default = windows[0] if windows else _unstored_default(ds, frame, pixels)
    spacing = _pixel_spacing(ds)
    return LoadedImage(
        path=path,
        kind="dicom",
        pixels=pixels,
        window=default,
        presets=tuple(windows) or (default,),
        photometric=photometric_of(ds),
        bits=_int(ds, "BitsStored") or _int(ds, "BitsAllocated") or frame.dtype.itemsize * 8,
        frames=frames,
        frame_index=frame_index,
        patient_axes=patient_axes(ds),
        modality=_text(ds, "Modality"),
        body_part=_text(ds, "BodyPartExamined"),
        view_position=_text(ds, "ViewPosition"),
        metadata=flat_metadata(ds),
        pixel_spacing=spacing[0] if spacing else None,
        spacing_source=spacing[1] if spacing else "",
        instance_uid=_text(ds, "SOPInstanceUID"),
        identity=read_identity(ds),
        display_inverted=inverted,
        windows_from_file=bool(windows),
    )


def _display_values(ds: Dataset, frame: np.ndarray, path: Path) -> tuple[np.ndarray, list[Window], bool]:
    """Float32 Modality LUT output, the file's windows in those units, and whether low
    values are shown white. The values are never mirrored: the numbers a reader sees
    (pixel readout, W/L) must be the file's, as in its header and other viewers."""
    if is_color(ds, frame):
        # Colour images have no Modality LUT or VOI: shown by their luma.
        return _checked(color_to_gray(ds, frame, path), path), [], False
    if frame.ndim != 2:
        raise CorruptImageError(f"{path.name}: unexpected pixel array shape {frame.shape}")
    return _checked(modality_values(ds, frame), path), file_windows(ds), shows_inverted(ds)


def _unstored_default(ds: Dataset, frame: np.ndarray, pixels: np.ndarray) -> Window:
    """8-bit RGB/YBR (screenshots, photos) is display-ready like a PNG: show it as
    stored. Grey data without a window gets a robust automatic one."""
    # Palette frames hold indices; their colours may be 16-bit, so they take the auto path.
    if frame.ndim == 3 and frame.dtype == np.uint8:
        return full_range_window(0.0, 255.0)
    return auto_window(pixels)


def _checked(values: np.ndarray, path: Path) -> np.ndarray:
    if not np.isfinite(values).all():
        # Float pixel data may hold NaN/inf; they have no grey level.
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            raise CorruptImageError(f"{path.name}: image holds no finite pixel values")
        values = np.nan_to_num(values, nan=float(finite.min()), posinf=float(finite.max()),
                               neginf=float(finite.min()))
    return np.ascontiguousarray(values, dtype=np.float32)


def _int(ds: Dataset, keyword: str) -> int:
    try:
        return int(ds.get(keyword) or 0)
    except (TypeError, ValueError):
        return 0


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    return str(value).strip() if value is not None else ""


def _pixel_spacing(ds: Dataset) -> tuple[tuple[float, float], str] | None:
    """(row, column) spacing in mm and the attribute it came from: Pixel Spacing, else
    Imager Pixel Spacing (detector plane). A zero spacing (seen in real files) is none."""
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        value = ds.get(keyword)
        try:
            row, col = (float(v) for v in value)
        except (TypeError, ValueError):
            continue
        if row > 0 and col > 0:
            return (row, col), keyword
    return None
