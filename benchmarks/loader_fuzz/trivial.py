"""The decoder's base memory: its peak RSS on a trivial file, once every codec library is loaded.

A decoder imports GDCM, OpenJPEG and the RLE decoder on first use, and after a
full-size image the C allocator keeps some freed memory mapped (tens of MiB), so the
base is measured on a decoder that has decoded every seed once, the full-size ones
included, as a long-lived decoder has: an 8 x 8 DICOM and an 8 x 8 PNG, the
high-water mark reset before each.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage

from cxrviewer.io import ImageLoadError
from cxrviewer.io.sandbox import DecoderPool

from . import child_memory
from .seeds import Seed

log = logging.getLogger(__name__)


def trivial_files() -> dict[str, bytes]:
    pixels = np.arange(64, dtype=np.uint16).reshape(8, 8)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = "1.2.3.4"
    ds.Modality, ds.Rows, ds.Columns, ds.SamplesPerPixel = "OT", 8, 8, 1
    ds.PhotometricInterpretation, ds.BitsAllocated, ds.BitsStored, ds.HighBit = "MONOCHROME2", 16, 16, 15
    ds.PixelRepresentation, ds.PixelData = 0, pixels.tobytes()
    dicom, png = io.BytesIO(), io.BytesIO()
    ds.save_as(dicom, enforce_file_format=True)
    Image.fromarray(pixels.astype(np.uint8)).save(png, "PNG")
    return {"trivial.dcm": dicom.getvalue(), "trivial.png": png.getvalue()}


def measure_base(folder: Path, timeout_s: float, seeds: list[Seed]) -> int:
    """Peak RSS in bytes of a warmed-up decoder on the trivial files (the larger of the two)."""
    pool = DecoderPool(processes=1, timeout_s=max(timeout_s, 30.0))
    try:
        for i, seed in enumerate(seeds):
            _load(pool, folder / f"warm-{i:02d}{seed.suffix}", seed.data)
        peaks = []
        for name, data in trivial_files().items():
            pid = child_memory.reset_peak(pool)
            _load(pool, folder / name, data)
            peaks.append((child_memory.read_peak(pool, pid) or (0, 0))[0])
        log.info("trivial-file peaks: %s MiB", [round(p / 2**20, 1) for p in peaks])
        return max(peaks)
    finally:
        pool.close()


def _load(pool: DecoderPool, path: Path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        pool.load(path)
    except ImageLoadError as exc:
        log.warning("warm-up file %s failed: %s", path.name, exc)
    finally:
        path.unlink(missing_ok=True)
