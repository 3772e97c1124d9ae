"""The prior a reader compares with: the same patient's most recent earlier study."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from cxrviewer.io.dicom_identity import ImageIdentity

from .grouping import StudyGroup, group_images


def earlier_studies(current: ImageIdentity, entries: Iterable[tuple[Path, ImageIdentity]]) -> list[StudyGroup]:
    """The same patient's studies dated before ``current``'s, most recent first.

    Same patient means the same non-empty Patient ID: a name alone is not enough to put
    two people's films side by side. Undated studies, or a current study without a
    date, give no priors: "earlier" cannot be told.
    """
    if not (current.patient_id and current.study_uid and current.study_date):
        return []
    key = f"id:{current.patient_id}"
    for patient in group_images(entries):
        if patient.key == key:
            return [s for s in patient.studies
                    if s.uid != current.study_uid and s.date and (s.date, s.time) < (current.study_date,
                                                                                     current.study_time)]
    return []


def choose_prior(current: ImageIdentity, entries: Iterable[tuple[Path, ImageIdentity]]) -> Path | None:
    """The first image (by series, then as opened) of the most recent earlier study, or None."""
    for study in earlier_studies(current, entries):
        paths = study.paths()
        if paths:
            return paths[0]
    return None
