"""A patient with a prior, built from the shared real DICOMs: copies with another Patient ID,
study date and fresh Study/Series/SOP Instance UIDs (pydicom), in a folder of the test's own."""

from __future__ import annotations

from pathlib import Path

import pydicom
from pydicom.uid import generate_uid

PATIENT_ID = "CMP-0001"
PATIENT_NAME = "Compare^Pat"
# (file name, source, study date, accession, series number, series description)
STUDIES = (
    ("current_pa.dcm", "chest_dx_mono2_uncompressed.dcm", "20240310", "ACC-2024", "1", "PA"),
    ("prior_pa.dcm", "chest_dx_mono2_uncompressed.dcm", "20230105", "ACC-2023", "2", "PA"),
    ("older_cr.dcm", "chest_cr_mono1_j2k_lossy.dcm", "20210601", "ACC-2021", "1", "PA chest"),
)


def restudied(source: Path, target: Path, study_date: str, accession: str, series_number: str = "1",
              series_description: str = "", patient_id: str = PATIENT_ID, patient_name: str = PATIENT_NAME) -> Path:
    """A copy of ``source`` as an image of its own study of the given patient and date."""
    ds = pydicom.dcmread(source)
    ds.PatientID, ds.PatientName = patient_id, patient_name
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SOPInstanceUID = generate_uid()
    if getattr(ds, "file_meta", None) is not None:
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyDate, ds.StudyTime, ds.AccessionNumber = study_date, "101500", accession
    ds.StudyDescription = "CHEST 1V"
    ds.SeriesNumber, ds.SeriesDescription = series_number, series_description
    ds.save_as(target)
    return target


def patient_with_priors(dicom_dir: Path, folder: Path) -> dict[str, Path]:
    """Three studies of one patient (2024, 2023, 2021) -> {file name: path}."""
    folder.mkdir(parents=True, exist_ok=True)
    return {name: restudied(dicom_dir / source, folder / name, date, accession, number, description)
            for name, source, date, accession, number, description in STUDIES}
