"""Which patient, study, series and instance an image belongs to (DICOM identifying attributes).

Read once, with the rest of the header, by the loader: the image list groups files by these,
comparison picks priors by them and reports link back to the PACS with them, without reading
a file again. They are patient data: show them, never log them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .quiet import quiet_warnings

if TYPE_CHECKING:
    from pydicom.dataset import Dataset


@dataclass(frozen=True)
class ImageIdentity:
    """Empty strings where the file does not say (and for every PNG/JPEG)."""

    patient_id: str = ""
    patient_name: str = ""  # DICOM PN as stored ('Family^Given'); format for display
    study_uid: str = ""
    study_date: str = ""  # DA, YYYYMMDD
    study_time: str = ""  # TM, HHMMSS.frac
    study_description: str = ""
    accession_number: str = ""
    series_uid: str = ""
    series_number: str = ""
    series_description: str = ""
    sop_instance_uid: str = ""
    instance_number: str = ""

    @property
    def is_dicom_study(self) -> bool:
        """True when the image names its study: it can be grouped and compared."""
        return bool(self.study_uid)


NO_IDENTITY = ImageIdentity()

_KEYWORDS = {
    "patient_id": "PatientID",
    "patient_name": "PatientName",
    "study_uid": "StudyInstanceUID",
    "study_date": "StudyDate",
    "study_time": "StudyTime",
    "study_description": "StudyDescription",
    "accession_number": "AccessionNumber",
    "series_uid": "SeriesInstanceUID",
    "series_number": "SeriesNumber",
    "series_description": "SeriesDescription",
    "sop_instance_uid": "SOPInstanceUID",
    "instance_number": "InstanceNumber",
}


def read_identity(ds: Dataset) -> ImageIdentity:
    """The identifying attributes of a data set already read (no file access)."""
    with quiet_warnings():
        return ImageIdentity(**{field: _text(ds, keyword) for field, keyword in _KEYWORDS.items()})


def _text(ds: Dataset, keyword: str) -> str:
    try:
        value = ds.get(keyword)
    except Exception:  # noqa: BLE001 - one undecodable value must not lose the image
        return ""
    return str(value).replace("\x00", "").strip() if value is not None else ""
