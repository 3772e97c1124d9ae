"""Fixtures for the I/O tests: synthetic DICOM files and real files loaded once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from cxrviewer.io import LoadedImage, load_image


def build_dataset(pixels: np.ndarray | None, **attrs) -> Dataset:
    """A minimal valid image data set holding ``pixels`` (rows, cols[, frames first]).

    Keyword arguments set or override elements, e.g. PhotometricInterpretation="MONOCHROME1".
    """
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality = "OT"
    if pixels is not None:
        signed = pixels.dtype.kind == "i"
        ds.Rows, ds.Columns = pixels.shape[-2:]
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = pixels.dtype.itemsize * 8
        ds.BitsStored = ds.BitsAllocated
        ds.HighBit = ds.BitsStored - 1
        ds.PixelRepresentation = int(signed)
        if pixels.ndim == 3:
            ds.NumberOfFrames = pixels.shape[0]
        ds.PixelData = np.ascontiguousarray(pixels).astype(pixels.dtype.newbyteorder("<")).tobytes()
    for keyword, value in attrs.items():
        setattr(ds, keyword, value)
    return ds


@pytest.fixture
def make_dicom(tmp_path: Path) -> Callable[..., Path]:
    """make_dicom(pixels, name="x.dcm", **attrs) -> path of a DICOM file written with preamble."""

    def make(pixels: np.ndarray | None, name: str = "image.dcm", **attrs) -> Path:
        ds = build_dataset(pixels, **attrs)
        path = tmp_path / name
        ds.save_as(path, enforce_file_format=True)
        return path

    return make


@pytest.fixture(scope="session")
def shared_images(dicom_files: list[Path]) -> dict[str, LoadedImage]:
    """Every shared DICOM loaded once (decoding them is the slow part of these tests)."""
    return {path.name: load_image(path) for path in dicom_files}
