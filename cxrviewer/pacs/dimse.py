"""DIMSE through pynetdicom: C-ECHO, study-level C-FIND, C-GET of a study into the cache, C-STORE.

For PACSes without DICOMweb. Every association has the node's time-out on connect,
ACSE, DIMSE and the network, so a dead or silent peer fails in seconds. C-GET
(not C-MOVE) brings the images back on our own association: no port of ours needs
to be open to the PACS.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterator, Sequence

from pydicom import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, build_role, evt
from pynetdicom.sop_class import (ComputedRadiographyImageStorage, DigitalXRayImageStorageForPresentation,
                                  SecondaryCaptureImageStorage, StudyRootQueryRetrieveInformationModelFind,
                                  StudyRootQueryRetrieveInformationModelGet, Verification)

from .cache import InstanceCache, check_uid
from .dicomweb import STUDY_FIELDS
from .errors import PacsAuthError, PacsError, PacsUnreachable, StudyProblem
from .node import DimseNode
from .query import StudyQuery, StudySummary
from .retrieve import InstanceRef

log = logging.getLogger(__name__)

# What a chest radiograph arrives as; C-GET offers to store only these.
IMAGE_STORAGE = (ComputedRadiographyImageStorage, DigitalXRayImageStorageForPresentation,
                 SecondaryCaptureImageStorage)
_PENDING = (0xFF00, 0xFF01)


def echo(node: DimseNode) -> None:
    """C-ECHO; raises PacsError when the peer cannot be reached or does not answer Success."""
    with _association(node, [Verification]) as assoc:
        status = assoc.send_c_echo()
    _check_status(status, "C-ECHO", node)


def find_studies(node: DimseNode, query: StudyQuery) -> list[StudySummary]:
    """Study-level C-FIND (study root), one modality at a time like the DICOMweb search."""
    found: dict[str, StudySummary] = {}
    with _association(node, [StudyRootQueryRetrieveInformationModelFind]) as assoc:
        for modality in query.modalities:
            identifier = _study_identifier(query, modality)
            for status, reply in assoc.send_c_find(identifier, StudyRootQueryRetrieveInformationModelFind):
                if status and status.Status in _PENDING and reply is not None:
                    summary = StudySummary.from_dataset(reply)
                    found.setdefault(summary.study_uid, summary)
                else:
                    _check_status(status, "C-FIND", node)
    return sorted(found.values(), key=lambda s: s.study_date, reverse=True)[:query.limit]


def get_study(node: DimseNode, study_uid: str, cache: InstanceCache,
              modalities: tuple[str, ...] = ("CR", "DX")) -> list[InstanceRef]:
    """C-GET the study's series of ``modalities`` into the cache; StudyProblem when none hold images.

    Series by series (found by a series-level C-FIND on Modality): a study-level C-GET would
    also push the reports and presentation states we offer no storage context for, and the
    PACS would fail the whole retrieval for them."""
    check_uid(study_uid, "Study Instance UID")
    series = _image_series(node, study_uid, modalities)
    refs: list[InstanceRef] = []
    roles = [build_role(sop, scp_role=True) for sop in IMAGE_STORAGE]
    contexts = [StudyRootQueryRetrieveInformationModelGet, *IMAGE_STORAGE]
    handler = (evt.EVT_C_STORE, lambda event: _store(event, study_uid, cache, refs))
    with _association(node, contexts, ext_neg=roles, evt_handlers=[handler]) as assoc:
        for series_uid in series:
            identifier = Dataset()
            identifier.QueryRetrieveLevel = "SERIES"
            identifier.StudyInstanceUID, identifier.SeriesInstanceUID = study_uid, series_uid
            for status, _ in assoc.send_c_get(identifier, StudyRootQueryRetrieveInformationModelGet):
                if status and status.Status not in _PENDING:
                    _check_status(status, "C-GET", node, warnings_ok=True)
    cache.evict(keep=[ref.path for ref in refs])
    if not refs:
        raise StudyProblem(f"study {study_uid}: no {'/'.join(modalities)} images came back from {_name(node)}")
    return refs


def store(node: DimseNode, datasets: Sequence[Dataset]) -> None:
    """C-STORE ``datasets`` (our SR and Secondary Capture) on one association; PacsError if any is refused."""
    sop_classes = list(dict.fromkeys(str(ds.SOPClassUID) for ds in datasets))
    contexts = [(sop, [ExplicitVRLittleEndian, ImplicitVRLittleEndian]) for sop in sop_classes]
    refused = []
    with _association(node, contexts) as assoc:
        for ds in datasets:
            try:
                status = assoc.send_c_store(ds)
            except (ValueError, RuntimeError):  # no context accepted for its SOP class / transfer syntax
                refused.append("no presentation context")
                continue
            if not status or "Status" not in status:
                raise PacsUnreachable(f"C-STORE: {_name(node)} did not answer within {node.timeout_s:g} s")
            if int(status.Status) not in (0x0000, 0xB000, 0xB006, 0xB007):
                refused.append(f"status 0x{int(status.Status):04X}")
    if refused:
        raise PacsError(f"C-STORE: {_name(node)} refused {len(refused)} of {len(datasets)} object(s) "
                        f"({', '.join(sorted(set(refused)))})")


class DimseStore:
    """A DIMSE node as the result sender's store target (the DICOMweb node's ``store`` twin)."""

    def __init__(self, node: DimseNode) -> None:
        self.node = node

    def store(self, datasets: Sequence[Dataset], study_uid: str) -> None:  # noqa: ARG002 - same call as STOW-RS
        store(self.node, datasets)


def _image_series(node: DimseNode, study_uid: str, modalities: tuple[str, ...]) -> list[str]:
    found: list[str] = []
    with _association(node, [StudyRootQueryRetrieveInformationModelFind]) as assoc:
        for modality in modalities:
            identifier = Dataset()
            identifier.QueryRetrieveLevel, identifier.StudyInstanceUID = "SERIES", study_uid
            identifier.SeriesInstanceUID, identifier.Modality = "", modality
            for status, reply in assoc.send_c_find(identifier, StudyRootQueryRetrieveInformationModelFind):
                if status and status.Status in _PENDING and reply is not None:
                    found.append(check_uid(str(reply.SeriesInstanceUID), "Series Instance UID"))
                else:
                    _check_status(status, "C-FIND", node)
    return list(dict.fromkeys(found))


def _store(event, study_uid: str, cache: InstanceCache, refs: list[InstanceRef]) -> int:
    """EVT_C_STORE during a C-GET: the instance into the cache (0x0000), or 0xA700 if it cannot be kept."""
    ds = event.dataset
    ds.file_meta = event.file_meta
    if "PixelData" not in ds:
        return 0x0000  # accepted and dropped: nothing for the model
    try:
        series_uid, sop_uid = str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID)
        path = cache.put(study_uid, series_uid, sop_uid, ds)
    except (PacsError, AttributeError):
        log.warning("C-GET: an instance could not be cached")
        return 0xA700  # out of resources: the peer reports that instance as failed
    refs.append(InstanceRef(study_uid, series_uid, sop_uid, path))
    return 0x0000


@contextlib.contextmanager
def _association(node: DimseNode, contexts, **kwargs) -> Iterator:
    _probe(node)
    ae = AE(ae_title=node.our_ae_title)
    for timeout in ("acse_timeout", "dimse_timeout", "network_timeout", "connection_timeout"):
        setattr(ae, timeout, node.timeout_s)
    for context in contexts:
        if isinstance(context, tuple):  # (SOP class, transfer syntaxes)
            ae.add_requested_context(*context)
        else:
            ae.add_requested_context(context)
    assoc = ae.associate(node.host, node.port, ae_title=node.ae_title, **kwargs)
    if assoc.is_rejected:
        raise PacsAuthError(f"{_name(node)} rejected the association (is our AE title "
                            f"{node.our_ae_title!r} registered there?)")
    if not assoc.is_established:
        raise PacsUnreachable(f"cannot reach {_name(node)} (no association within {node.timeout_s:g} s)")
    try:
        yield assoc
    finally:
        if assoc.is_established:
            assoc.release()
        ae.shutdown()


def _probe(node: DimseNode) -> None:
    """A plain TCP connect first: it says refused or timed out precisely, and pynetdicom leaks the
    socket of a refused association request (a ResourceWarning per try)."""
    try:
        socket.create_connection((node.host, node.port), timeout=node.timeout_s).close()
    except socket.timeout:
        raise PacsUnreachable(f"cannot reach {_name(node)} (no answer within {node.timeout_s:g} s)") from None
    except OSError as exc:
        raise PacsUnreachable(f"cannot reach {_name(node)} ({exc.strerror or type(exc).__name__})") from None


def _check_status(status: Dataset | None, what: str, node: DimseNode, warnings_ok: bool = False) -> None:
    if not status or "Status" not in status:  # an empty status: the peer aborted or went silent
        raise PacsUnreachable(f"{what}: {_name(node)} did not answer within {node.timeout_s:g} s")
    code = int(status.Status)
    if code == 0x0000 or (warnings_ok and code == 0xB000):
        return
    raise PacsError(f"{what}: {_name(node)} answered status 0x{code:04X}")


def _study_identifier(query: StudyQuery, modality: str) -> Dataset:
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "STUDY"
    for keyword in STUDY_FIELDS:
        setattr(identifier, keyword, "")
    for keyword, value in query.qido_params().items():
        setattr(identifier, keyword, value)
    identifier.ModalitiesInStudy = modality
    return identifier


def describe(node: DimseNode) -> str:
    return _name(node)


def _name(node: DimseNode) -> str:
    return f"{node.ae_title}@{node.host}:{node.port}"
