"""One face for both kinds of PACS node: find, retrieve, store results, check the connection.

:class:`DicomWebClient` wraps the DICOMweb node (QIDO-RS, WADO-RS, STOW-RS), :class:`DimseClient`
the DIMSE one (C-FIND, C-GET, C-STORE, C-ECHO); the CLI and the viewer's PACS jobs talk
to either through the same four calls. Every call raises PacsError only.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydicom import Dataset

from . import dimse
from .cache import InstanceCache
from .dicomweb import DicomWebPacs
from .node import DicomWebNode, DimseNode
from .query import DEFAULT_MODALITIES, StudyQuery, StudySummary
from .retrieve import RetrievedStudy, retrieve_study


class DicomWebClient:
    def __init__(self, node: DicomWebNode) -> None:
        self.node = node
        self.name = node.url
        self._pacs = DicomWebPacs(node)

    def echo(self) -> None:
        """A one-study search: the node answers, and takes our credentials."""
        self._pacs.find_studies(StudyQuery(modalities=("CR",), limit=1))

    def find_studies(self, query: StudyQuery) -> list[StudySummary]:
        return self._pacs.find_studies(query)

    def retrieve(self, study_uid: str, cache: InstanceCache,
                 modalities: tuple[str, ...] = DEFAULT_MODALITIES) -> RetrievedStudy:
        return retrieve_study(self._pacs, study_uid, cache, modalities)

    def store(self, datasets: Sequence[Dataset], study_uid: str) -> None:
        self._pacs.store(datasets, study_uid)


class DimseClient:
    def __init__(self, node: DimseNode) -> None:
        self.node = node
        self.name = dimse.describe(node)

    def echo(self) -> None:
        dimse.echo(self.node)

    def find_studies(self, query: StudyQuery) -> list[StudySummary]:
        return dimse.find_studies(self.node, query)

    def retrieve(self, study_uid: str, cache: InstanceCache,
                 modalities: tuple[str, ...] = DEFAULT_MODALITIES) -> RetrievedStudy:
        return RetrievedStudy(study_uid, images=dimse.get_study(self.node, study_uid, cache, modalities))

    def store(self, datasets: Sequence[Dataset], study_uid: str) -> None:  # noqa: ARG002 - as STOW-RS
        dimse.store(self.node, datasets)


PacsClient = DicomWebClient | DimseClient


def client_for(node: DicomWebNode | DimseNode) -> PacsClient:
    return DicomWebClient(node) if isinstance(node, DicomWebNode) else DimseClient(node)
