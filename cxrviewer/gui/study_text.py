"""Words for the study tree's rows (no Qt): patient, study, series and image lines, and AI flags.

Patient names and IDs appear here, in the list, as a reading room's study browser shows
them; they are never logged.
"""

from __future__ import annotations

from collections.abc import Iterable

from cxrviewer.io.display_basics import format_date, format_person_name
from cxrviewer.studies import PatientGroup, SeriesGroup

from .ai_format import label_title, list_badge

FILES_TITLE = "Files (no DICOM study)"


def patient_title(patient: PatientGroup) -> str:
    if patient.is_files:
        return FILES_TITLE
    name = format_person_name(patient.patient_name) or "(no name)"
    return f"{name}  ·  {patient.patient_id}" if patient.patient_id else name


def latest_date(patient: PatientGroup) -> str:
    return max((s.date for s in patient.studies), default="")


def series_title(series: SeriesGroup) -> str:
    return f"Se {series.number}" if series.number else "Series"


def date_text(date: str) -> str:
    return format_date(date)


def image_flag(result) -> str:
    """The AI column of an image row: the list's badge, '' before a reading."""
    return list_badge(result) if result is not None else ""


def group_flag(results: Iterable) -> str:
    """A study's or patient's AI column: the classes its images were read as, and any OOD mark."""
    results = [r for r in results if r is not None]
    if not results:
        return ""
    labels = sorted({r.label for r in results if not r.ood_flag}, key=lambda label: label.lower() == "normal")
    words = [label_title(label) for label in labels]
    flagged = sum(1 for r in results if r.ood_flag)
    if flagged:
        words.append(f"⚠ {flagged} unlike training data")
    return ", ".join(words)


def flag_rank(result) -> tuple:
    """Sort key of the AI column: abnormal readings first (most confident first), then normal,
    then images flagged out of distribution, then unread."""
    if result is None:
        return (3, 0.0)
    if result.ood_flag:
        return (2, 0.0)
    normal = result.label.lower() == "normal"
    return (1 if normal else 0, -float(result.confidence))
