"""Real multi-frame DICOM files for the tests, made from a shared chest radiograph with pydicom.

Three frames that differ everywhere (the film, its negative, its transpose), uncompressed
or RLE Lossless (pydicom's own encoder), so a test can tell which frame is on screen.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.uid import ExplicitVRLittleEndian, RLELossless, generate_uid

SIDE = 256  # a crop of the film: enough anatomy to look at, quick to encode


def frames_of(source: Path) -> np.ndarray:
    """(3, SIDE, SIDE) uint8: a central crop of the film, its negative and its transpose."""
    film = pydicom.dcmread(source).pixel_array
    top, left = (film.shape[0] - SIDE) // 2, (film.shape[1] - SIDE) // 2
    crop = np.ascontiguousarray(film[top:top + SIDE, left:left + SIDE]).astype(np.uint8)
    return np.stack([crop, 255 - crop, np.ascontiguousarray(crop.T)])


def write_multiframe(source: Path, target: Path, rle: bool = False) -> np.ndarray:
    """Write the three frames of ``source`` (an 8-bit MONOCHROME2 DICOM) to ``target``; returns them."""
    ds = pydicom.dcmread(source)
    frames = frames_of(source)
    ds.Rows, ds.Columns = SIDE, SIDE
    ds.NumberOfFrames = len(frames)
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.PixelData = frames.tobytes()
    ds["PixelData"].VR = "OB"
    for keyword in ("WindowCenter", "WindowWidth"):
        if keyword in ds:
            del ds[keyword]
    if rle:
        ds.compress(RLELossless, frames)
    ds.save_as(target, enforce_file_format=True)
    return frames
