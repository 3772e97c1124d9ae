"""QIDO-RS, WADO-RS and STOW-RS through dicomweb-client, with time-outs and readable errors.

No retries: a PACS that is down must fail in seconds, not after dicomweb-client's
five exponential back-offs. Every requests/HTTP failure becomes a PacsError.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence

import requests
from dicomweb_client.api import DICOMwebClient
from pydicom import Dataset

from .errors import PacsAuthError, PacsError, PacsUnreachable
from .node import DicomWebNode
from .query import StudyQuery, StudySummary

log = logging.getLogger(__name__)

STUDY_FIELDS = ("StudyInstanceUID", "PatientID", "PatientName", "AccessionNumber", "StudyDate",
                "StudyDescription", "ModalitiesInStudy", "NumberOfStudyRelatedSeries",
                "NumberOfStudyRelatedInstances")
INSTANCE_FIELDS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID", "Modality",
                   "InstanceNumber")


class DicomWebPacs:
    """One DICOMweb node. Methods raise PacsError (PacsAuthError, PacsUnreachable) only."""

    def __init__(self, node: DicomWebNode) -> None:
        self.node = node
        session = requests.Session()
        headers = {}
        if node.username is not None:
            session.auth = requests.auth.HTTPBasicAuth(node.username, node.password or "")
        elif node.token:
            headers["Authorization"] = f"Bearer {node.token}"
        self._client = DICOMwebClient(url=node.url, session=session, headers=headers,
                                      timeout=(node.timeout_s, node.timeout_s))
        self._client.set_http_retry_params(retry=False)

    def find_studies(self, query: StudyQuery) -> list[StudySummary]:
        """Studies matching ``query`` holding any of its modalities, newest first."""
        found: dict[str, StudySummary] = {}
        for modality in query.modalities:
            filters = {**query.qido_params(), "ModalitiesInStudy": modality}
            with self.errors("study search"):
                rows = self._client.search_for_studies(search_filters=filters, fields=list(STUDY_FIELDS),
                                                       limit=query.limit)
            for row in rows:
                summary = StudySummary.from_dataset(Dataset.from_json(row))
                found.setdefault(summary.study_uid, summary)
        studies = sorted(found.values(), key=lambda s: s.study_date, reverse=True)
        log.debug("study search: %d match(es)", len(studies))
        return studies[:query.limit]

    def list_instances(self, study_uid: str) -> list[Dataset]:
        """The study's instances as QIDO-RS describes them (UIDs, SOP class, modality)."""
        with self.errors("instance search"):
            rows = self._client.search_for_instances(study_instance_uid=study_uid, fields=list(INSTANCE_FIELDS))
        return [Dataset.from_json(row) for row in rows]

    def series_modality(self, study_uid: str) -> dict[str, str]:
        """Series Instance UID -> Modality, for servers that leave Modality off instance rows."""
        with self.errors("series search"):
            rows = self._client.search_for_series(study_instance_uid=study_uid,
                                                  fields=["SeriesInstanceUID", "Modality"])
        series = (Dataset.from_json(row) for row in rows)
        return {str(ds.get("SeriesInstanceUID", "")): str(ds.get("Modality", "")) for ds in series}

    def retrieve_instance(self, study_uid: str, series_uid: str, sop_uid: str) -> Dataset:
        with self.errors("image download"):
            return self._client.retrieve_instance(study_uid, series_uid, sop_uid)

    def store(self, datasets: Sequence[Dataset], study_uid: str) -> None:
        """STOW-RS; raises PacsError if the node refused any instance."""
        with self.errors("storing results"):
            reply = self._client.store_instances(list(datasets), study_instance_uid=study_uid)
        failed = reply.get("FailedSOPSequence") if reply is not None else None
        if failed:
            reasons = sorted({str(item.get("FailureReason", "?")) for item in failed})
            raise PacsError(f"{self.node.url} refused {len(failed)} of {len(datasets)} result object(s) "
                            f"(failure reason {', '.join(reasons)})")

    @contextlib.contextmanager
    def errors(self, what: str) -> Iterator[None]:
        """requests' and dicomweb-client's exceptions as PacsError messages that name the node."""
        url, timeout = self.node.url, self.node.timeout_s
        try:
            yield
        except requests.exceptions.HTTPError as exc:
            raise _http_error(what, url, exc.response) from None
        except requests.exceptions.Timeout:
            raise PacsUnreachable(f"{what}: {url} did not answer within {timeout:g} s") from None
        except requests.exceptions.ConnectionError:
            raise PacsUnreachable(f"{what}: cannot reach {url} (connection refused, or the host is "
                                  "unknown or down)") from None
        except requests.exceptions.RequestException as exc:
            raise PacsError(f"{what}: request to {url} failed ({type(exc).__name__})") from None
        except (ValueError, KeyError) as exc:  # a reply that is not DICOM JSON or multipart DICOM
            log.debug("unreadable reply", exc_info=True)
            raise PacsError(f"{what}: {url} sent a reply that is not DICOMweb ({type(exc).__name__})") from None


def _http_error(what: str, url: str, response) -> PacsError:
    status = getattr(response, "status_code", 0)
    if status in (401, 403):
        return PacsAuthError(f"{what}: {url} refused the credentials (HTTP {status}); check --user and "
                             "CXR_PACS_PASSWORD, or CXR_PACS_TOKEN")
    if status == 404:
        return PacsError(f"{what}: {url} answered 'not found' (HTTP 404): is this the DICOMweb base URL "
                         "(for Orthanc .../dicom-web)?")
    reason = getattr(response, "reason", "") or ""
    return PacsError(f"{what}: {url} answered HTTP {status} {reason}".rstrip())
