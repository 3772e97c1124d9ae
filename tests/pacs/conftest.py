"""A real Orthanc for the PACS tests (tests/orthanc_fixture.py), with real DICOMs from the data root.

What it holds: the chest CR (MONOCHROME1, JPEG 2000) and the chest DX studies (the DX
file has no accession number; it is uploaded with :data:`DX_ACCESSION`, its pixels as they
are), a Basic Text SR filed in the DX study (a non-image object to skip), and a study
holding only such an SR (a study with no images).
"""

from __future__ import annotations

import io
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from tests import data_root
from tests.orthanc_fixture import MISSING_REASON, OrthancServer, start_orthanc

CHEST_CR = "chest_cr_mono1_j2k_lossy.dcm"
CHEST_DX = "chest_dx_mono2_uncompressed.dcm"
BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"
NO_IMAGES_STUDY = "1.2.826.0.1.3680043.8.498.1000001"
DX_ACCESSION = "ACC-DX-0001"


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory, dicom_dir: Path):
    try:
        server = start_orthanc(tmp_path_factory.mktemp("orthanc"))
    except LookupError:
        if data_root.full_data_required():  # CI installs Orthanc (.ci/system-deps.sh): missing is a failure
            pytest.fail(f"{data_root.ENV_REQUIRE_FULL}=1: {MISSING_REASON}")
        pytest.skip(MISSING_REASON)
    try:
        server.upload_file(dicom_dir / CHEST_CR)
        dx = pydicom.dcmread(dicom_dir / CHEST_DX)
        dx.AccessionNumber = DX_ACCESSION
        server.upload(_encoded(dx))
        server.upload(text_sr(dx.StudyInstanceUID, dx.PatientID))
        server.upload(text_sr(NO_IMAGES_STUDY, "NOIMAGES"))
        yield server
    finally:
        server.stop()
    assert server.process.poll() is not None, "Orthanc is still running"


@pytest.fixture(scope="session")
def studies(dicom_dir: Path) -> dict[str, Dataset]:
    return {name: pydicom.dcmread(dicom_dir / name, stop_before_pixels=True) for name in (CHEST_CR, CHEST_DX)}


@pytest.fixture
def pacs_password(monkeypatch, orthanc: OrthancServer) -> str:
    monkeypatch.setenv("CXR_PACS_PASSWORD", orthanc.auth[1])
    monkeypatch.delenv("CXR_PACS_TOKEN", raising=False)
    return orthanc.auth[1]


def text_sr(study_uid: str, patient_id: str) -> bytes:
    """A minimal Basic Text SR in ``study_uid``: a real non-image object."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = BASIC_TEXT_SR
    ds.SOPClassUID = BASIC_TEXT_SR
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, generate_uid()
    ds.PatientID, ds.PatientName, ds.Modality, ds.InstanceNumber = patient_id, "Test^Report", "SR", 1
    ds.ValueType, ds.ContinuityOfContent = "CONTAINER", "SEPARATE"
    ds.ConceptNameCodeSequence = [_code("18748-4", "LN", "Diagnostic imaging report")]
    return _encoded(ds)


def _encoded(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item
