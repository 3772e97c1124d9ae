"""A study search (patient, accession, dates, modalities) and what one found study looks like.

The summaries hold patient data: they are printed for the user who asked, never logged.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass

from pydicom import Dataset

from .errors import PacsError

DEFAULT_MODALITIES = ("CR", "DX")  # chest radiographs; what the model was trained on
DEFAULT_LIMIT = 200
_MODALITY = re.compile(r"^[A-Z0-9]{1,16}$")


@dataclass(frozen=True)
class StudyQuery:
    patient_id: str | None = None
    patient_name: str | None = None  # DICOM wildcards allowed: DOE^J*
    accession: str | None = None
    study_uid: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    modalities: tuple[str, ...] = DEFAULT_MODALITIES
    limit: int = DEFAULT_LIMIT

    def __post_init__(self) -> None:
        bad = [m for m in self.modalities if not _MODALITY.match(m)]
        if bad or not self.modalities:
            raise PacsError(f"not a modality list: {','.join(self.modalities)!r} (e.g. CR,DX)")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise PacsError("the date range ends before it starts")
        if not 0 < self.limit <= 10_000:
            raise PacsError(f"limit {self.limit} is not in 1-10000")

    def qido_params(self) -> dict[str, str]:
        """The matching keys, without the modality (searched one modality at a time: servers
        differ in how they read a list in ModalitiesInStudy)."""
        params = {"PatientID": self.patient_id, "PatientName": self.patient_name,
                  "AccessionNumber": self.accession, "StudyInstanceUID": self.study_uid}
        params = {k: v for k, v in params.items() if v}
        if self.date_from or self.date_to:
            params["StudyDate"] = f"{_dicom_date(self.date_from)}-{_dicom_date(self.date_to)}"
        return params


@dataclass(frozen=True)
class StudySummary:
    study_uid: str
    patient_id: str
    patient_name: str
    accession: str
    study_date: str
    description: str
    modalities: tuple[str, ...]
    series: int | None
    instances: int | None

    @classmethod
    def from_dataset(cls, ds: Dataset) -> StudySummary:
        modalities = ds.get("ModalitiesInStudy", [])
        modalities = [modalities] if isinstance(modalities, str) else list(modalities)
        return cls(
            study_uid=str(ds.get("StudyInstanceUID", "")),
            patient_id=str(ds.get("PatientID", "")),
            patient_name=str(ds.get("PatientName", "")),
            accession=str(ds.get("AccessionNumber", "")),
            study_date=str(ds.get("StudyDate", "")),
            description=str(ds.get("StudyDescription", "")),
            modalities=tuple(str(m) for m in modalities),
            series=_int_or_none(ds.get("NumberOfStudyRelatedSeries")),
            instances=_int_or_none(ds.get("NumberOfStudyRelatedInstances")),
        )

    def to_json(self) -> dict:
        data = asdict(self)
        data["modalities"] = list(self.modalities)
        return data


def parse_modalities(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(m.strip().upper() for m in text.split(",") if m.strip()))


def parse_date(text: str) -> dt.date:
    for pattern in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise PacsError(f"not a date: {text!r} (expected YYYY-MM-DD)")


def _dicom_date(day: dt.date | None) -> str:
    return day.strftime("%Y%m%d") if day else ""


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
