"""Fetch a study's radiographs into the cache (WADO-RS), skipping what the model cannot read.

Only instances of an image SOP class in a series of one of the wanted modalities are
fetched, one instance at a time (a study is never held in memory whole); everything
else (reports, presentation states, our own results, DX "for processing" raw data)
is skipped with a message saying what it was.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from pydicom import Dataset
from pydicom.uid import UID

from .cache import InstanceCache, check_uid
from .dicomweb import DicomWebPacs
from .errors import StudyProblem
from .query import DEFAULT_MODALITIES

log = logging.getLogger(__name__)

DX_FOR_PROCESSING = "1.2.840.10008.5.1.4.1.1.1.1.1"


@dataclass(frozen=True)
class InstanceRef:
    study_uid: str
    series_uid: str
    sop_uid: str
    path: Path


@dataclass
class RetrievedStudy:
    study_uid: str
    images: list[InstanceRef] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # one message per object not fetched


def retrieve_study(pacs: DicomWebPacs, study_uid: str, cache: InstanceCache,
                   modalities: tuple[str, ...] = DEFAULT_MODALITIES) -> RetrievedStudy:
    """The study's images as cached files; StudyProblem when it is unknown or holds none."""
    check_uid(study_uid, "Study Instance UID")
    rows = pacs.list_instances(study_uid)
    if not rows:
        raise StudyProblem(f"study {study_uid}: not found on {pacs.node.url}")
    modality_of = _series_modalities(pacs, study_uid, rows)
    study = RetrievedStudy(study_uid)
    wanted = []
    for row in rows:
        reason = skip_reason(row, modality_of, modalities)
        if reason:
            study.skipped.append(reason)
        else:
            wanted.append(row)
    for row in wanted:
        ref = _fetch(pacs, cache, study_uid, row, study.skipped)
        if ref is not None:
            study.images.append(ref)
    cache.evict(keep=[ref.path for ref in study.images])
    if not study.images:
        detail = f" ({len(study.skipped)} other object(s) skipped)" if study.skipped else ""
        raise StudyProblem(f"study {study_uid}: no {'/'.join(modalities)} images to analyse{detail}")
    log.info("retrieved %d image(s), skipped %d object(s)", len(study.images), len(study.skipped))
    return study


def skip_reason(row: Dataset, modality_of: dict[str, str], modalities: tuple[str, ...]) -> str:
    """'' to fetch the instance, else why not (no patient data: SOP class and modality only)."""
    sop_class = UID(str(row.get("SOPClassUID", "")))
    modality = modality_of.get(str(row.get("SeriesInstanceUID", "")), "") or str(row.get("Modality", ""))
    number = row.get("InstanceNumber", "?")
    what = f"instance {number} ({sop_class.name or sop_class or 'unknown SOP class'}, {modality or 'no modality'})"
    if "Image Storage" not in sop_class.name:
        return f"skipped {what}: not an image"
    if sop_class == DX_FOR_PROCESSING:
        return f"skipped {what}: raw detector data, not meant for viewing"
    if modality not in modalities:
        return f"skipped {what}: not one of {', '.join(modalities)}"
    return ""


def _series_modalities(pacs: DicomWebPacs, study_uid: str, rows: list[Dataset]) -> dict[str, str]:
    if all("Modality" in row for row in rows):
        return {str(row.SeriesInstanceUID): str(row.Modality) for row in rows if "SeriesInstanceUID" in row}
    return pacs.series_modality(study_uid)  # Modality is a series attribute; not every server repeats it


def _fetch(pacs: DicomWebPacs, cache: InstanceCache, study_uid: str, row: Dataset,
           skipped: list[str]) -> InstanceRef | None:
    series_uid = check_uid(str(row.get("SeriesInstanceUID", "")), "Series Instance UID")
    sop_uid = check_uid(str(row.get("SOPInstanceUID", "")), "SOP Instance UID")
    path = cache.get(study_uid, series_uid, sop_uid)
    if path is None:
        dataset = pacs.retrieve_instance(study_uid, series_uid, sop_uid)
        if "PixelData" not in dataset:
            skipped.append(f"skipped instance {row.get('InstanceNumber', '?')}: no pixel data")
            return None
        path = cache.put(study_uid, series_uid, sop_uid, dataset)
    return InstanceRef(study_uid, series_uid, sop_uid, path)
