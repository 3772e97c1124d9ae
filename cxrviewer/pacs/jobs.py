"""The viewer's PACS work as plain jobs and messages (no Qt, no torch).

The viewer's PACS worker (cxrviewer.gui.pacs_worker, a TaskThread on a TaskQueue) hands
each job to :func:`run_job`, which yields frozen dataclasses: the search's studies,
progress and one outcome per study of a retrieval (so a failure names its study and
the others go on), the outcome of sending a reading back. Cancellation is cooperative:
a retrieval checks its token between studies.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cache import InstanceCache
from .client import client_for
from .errors import PacsAuthError, PacsError, PacsUnreachable
from .node import DicomWebNode, DimseNode
from .query import DEFAULT_MODALITIES, StudyQuery, StudySummary
from .retrieve import InstanceRef

Node = DicomWebNode | DimseNode


# ----- jobs ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FindJob:
    node: Node
    query: StudyQuery


@dataclass(frozen=True)
class RetrieveJob:
    node: Node
    study_uids: tuple[str, ...]
    cache_dir: Path | None = None
    cache_bytes: int = 2 * 2**30
    modalities: tuple[str, ...] = DEFAULT_MODALITIES


@dataclass(frozen=True, eq=False)
class SendJob:
    node: Node
    path: Path  # the image's (cached) file: its header makes the results' patient and study
    record: Mapping[str, Any]  # a `cxr predict`-style record (record_from_result)
    model_dir: Path
    image: Any = None  # LoadedImage, for the heat-map Secondary Capture
    cam: Any = None  # float32 (H, W) map, or None: SR only
    cam_strength: float = 1.0


# ----- messages -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StudiesFound:
    job_id: int
    studies: tuple[StudySummary, ...]


@dataclass(frozen=True)
class StudyRetrieved:
    job_id: int
    study_uid: str
    paths: tuple[Path, ...]
    skipped: int  # objects left out (reports, presentation states, other modalities)


@dataclass(frozen=True)
class StudyFailed:
    job_id: int
    study_uid: str
    message: str


@dataclass(frozen=True)
class RetrieveProgress:
    job_id: int
    done: int
    total: int


@dataclass(frozen=True)
class RetrieveFinished:
    job_id: int
    retrieved: int
    failed: int
    cancelled: bool


@dataclass(frozen=True)
class ResultsSent:
    job_id: int
    objects: int
    where: str


@dataclass(frozen=True)
class JobFailed:
    job_id: int
    message: str


def run_job(job_id: int, job, cancelled) -> Iterator[object]:
    """The messages for one job; ``cancelled()`` is polled between studies."""
    try:
        if isinstance(job, FindJob):
            yield StudiesFound(job_id, tuple(client_for(job.node).find_studies(job.query)))
        elif isinstance(job, RetrieveJob):
            yield from _retrieve(job_id, job, cancelled)
        elif isinstance(job, SendJob):
            yield _send(job_id, job)
        else:
            raise TypeError(f"not a PACS job: {type(job).__name__}")
    except PacsError as exc:
        yield JobFailed(job_id, str(exc))


def _retrieve(job_id: int, job: RetrieveJob, cancelled) -> Iterator[object]:
    client = client_for(job.node)
    cache = InstanceCache(job.cache_dir, job.cache_bytes)
    total, done, failed = len(job.study_uids), 0, 0
    yield RetrieveProgress(job_id, 0, total)
    for study_uid in job.study_uids:
        if cancelled():
            break
        try:
            study = client.retrieve(study_uid, cache, job.modalities)
        except (PacsUnreachable, PacsAuthError):
            raise  # the node is gone or refuses us: the other studies would fail the same way
        except PacsError as exc:
            failed += 1
            yield StudyFailed(job_id, study_uid, str(exc))
        else:
            yield StudyRetrieved(job_id, study_uid, tuple(ref.path for ref in study.images), len(study.skipped))
        done += 1
        yield RetrieveProgress(job_id, done, total)
    yield RetrieveFinished(job_id, done - failed, failed, cancelled())


def _send(job_id: int, job: SendJob) -> ResultsSent:
    from .send import ResultSender
    from .source_header import read_header

    client = client_for(job.node)
    try:
        header = read_header(job.path)
        ref = InstanceRef(str(header.StudyInstanceUID), str(header.SeriesInstanceUID), str(header.SOPInstanceUID),
                          job.path)
        ResultSender(client, job.model_dir).send(ref, job.record, job.image, job.cam, job.cam_strength)
    except (OSError, AttributeError, ValueError) as exc:  # not a DICOM with UIDs, a header highdicom refused
        raise PacsError(f"the results could not be built from this image ({type(exc).__name__})") from None
    return ResultsSent(job_id, 2 if job.cam is not None and job.image is not None else 1, client.name)


def record_from_result(result) -> dict:
    """An InferenceResult as the record the DICOM results are written from (cxr predict's keys)."""
    def finite(value) -> float | None:
        return float(value) if value is not None and math.isfinite(value) else None

    return {"path": str(result.path), "ok": True,
            "probabilities": {k: finite(v) for k, v in result.probabilities.items()},
            "label": result.label, "confidence": finite(result.confidence), "uncertain": bool(result.uncertain),
            "ood": {"flag": bool(result.ood_flag), "score": finite(result.ood_score)}, "error": None}
