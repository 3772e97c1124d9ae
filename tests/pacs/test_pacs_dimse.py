"""DIMSE against the real Orthanc: C-ECHO, C-FIND and C-GET into the cache; a wrong AE title and a
closed port give clear errors."""

from __future__ import annotations

import socket

import pytest

from cxrviewer.pacs import dimse
from cxrviewer.pacs.cache import InstanceCache
from cxrviewer.pacs.errors import PacsAuthError, PacsUnreachable, StudyProblem
from cxrviewer.pacs.node import DimseNode
from cxrviewer.pacs.query import StudyQuery
from tests.orthanc_fixture import CLIENT_AET, ORTHANC_AET

from .conftest import CHEST_CR, CHEST_DX, NO_IMAGES_STUDY


def _node(orthanc, our=CLIENT_AET) -> DimseNode:
    return DimseNode(ORTHANC_AET, "127.0.0.1", orthanc.dicom_port, our_ae_title=our, timeout_s=10)


def test_echo_find_and_get(orthanc, studies, tmp_path):
    node = _node(orthanc)
    dimse.echo(node)
    found = dimse.find_studies(node, StudyQuery(patient_id=str(studies[CHEST_CR].PatientID)))
    assert [s.study_uid for s in found] == [studies[CHEST_CR].StudyInstanceUID]
    assert {s.study_uid for s in dimse.find_studies(node, StudyQuery())} >= {
        studies[CHEST_CR].StudyInstanceUID, studies[CHEST_DX].StudyInstanceUID}
    dx = studies[CHEST_DX]
    (ref,) = dimse.get_study(node, dx.StudyInstanceUID, InstanceCache(tmp_path / "cache"))
    assert (ref.series_uid, ref.sop_uid) == (dx.SeriesInstanceUID, dx.SOPInstanceUID) and ref.path.is_file()
    with pytest.raises(StudyProblem, match="no CR/DX images"):
        dimse.get_study(node, NO_IMAGES_STUDY, InstanceCache(tmp_path / "cache"))


def test_an_unregistered_ae_title_is_rejected(orthanc):
    with pytest.raises(PacsAuthError, match="rejected the association"):
        dimse.echo(_node(orthanc, our="STRANGER"))


def test_a_closed_port_is_unreachable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(PacsUnreachable, match="cannot reach"):
        dimse.echo(DimseNode("PACS", "127.0.0.1", port, timeout_s=2))
