"""Patients -> studies -> series -> images, as a reading room's study browser lists them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cxrviewer.io.dicom_identity import ImageIdentity

FILES_GROUP = "files"  # the group of images that name no DICOM study (PNG, JPEG, ...)


@dataclass
class SeriesGroup:
    uid: str
    number: str
    description: str
    paths: list[Path] = field(default_factory=list)


@dataclass
class StudyGroup:
    uid: str
    date: str  # YYYYMMDD as stored
    time: str
    description: str
    accession: str
    series: list[SeriesGroup] = field(default_factory=list)

    def paths(self) -> list[Path]:
        return [path for series in self.series for path in series.paths]


@dataclass
class PatientGroup:
    key: str  # the Patient ID, or FILES_GROUP
    patient_id: str
    patient_name: str
    studies: list[StudyGroup] = field(default_factory=list)

    @property
    def is_files(self) -> bool:
        return self.key == FILES_GROUP


def group_images(entries: Iterable[tuple[Path, ImageIdentity]]) -> list[PatientGroup]:
    """Patients in the order first opened, the files group last; a patient's studies newest
    first; series by number; images in the order given (instance number first when known)."""
    patients: dict[str, PatientGroup] = {}
    studies: dict[tuple[str, str], StudyGroup] = {}
    series: dict[tuple[str, str, str], SeriesGroup] = {}
    for path, ident in entries:
        key = _patient_key(ident)
        patient = patients.setdefault(key, PatientGroup(key, ident.patient_id, ident.patient_name))
        study_key = (key, ident.study_uid)
        study = studies.get(study_key)
        if study is None:
            study = studies[study_key] = StudyGroup(ident.study_uid, ident.study_date, ident.study_time,
                                                    ident.study_description, ident.accession_number)
            patient.studies.append(study)
        series_key = (key, ident.study_uid, ident.series_uid)
        one = series.get(series_key)
        if one is None:
            one = series[series_key] = SeriesGroup(ident.series_uid, ident.series_number, ident.series_description)
            study.series.append(one)
        one.paths.append(path)
    for patient in patients.values():
        _order(patient)
    files = patients.pop(FILES_GROUP, None)
    return [*patients.values(), *([files] if files else [])]


def _patient_key(ident: ImageIdentity) -> str:
    if not ident.is_dicom_study:
        return FILES_GROUP
    # A study without a Patient ID still is a study: keyed by its UID, it never merges with another.
    return f"id:{ident.patient_id}" if ident.patient_id else f"study:{ident.study_uid}"


def _order(patient: PatientGroup) -> None:
    patient.studies.sort(key=lambda s: (s.date, s.time), reverse=True)  # stable: undated keep their order
    for study in patient.studies:
        study.series.sort(key=lambda s: _number(s.number))


def _number(text: str) -> tuple[int, float]:
    try:
        return (0, float(text))
    except ValueError:
        return (1, 0.0)
