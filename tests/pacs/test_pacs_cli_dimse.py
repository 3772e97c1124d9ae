"""`cxr pacs echo` and `cxr pacs find --dimse` against the real Orthanc; the DIMSE arguments' errors."""

from __future__ import annotations

import json

from cxrviewer.cli.main import main
from tests.orthanc_fixture import CLIENT_AET, ORTHANC_AET

from .conftest import CHEST_CR


def _dimse(orthanc) -> list[str]:
    return ["--dimse", f"{ORTHANC_AET}@127.0.0.1:{orthanc.dicom_port}", "--aet", CLIENT_AET, "--timeout", "10"]


def test_echo_over_dimse_and_dicomweb(capsys, orthanc, pacs_password):
    assert main(["pacs", "echo", *_dimse(orthanc)]) == 0
    assert "answered in" in capsys.readouterr().out
    assert main(["pacs", "echo", "--url", orthanc.dicomweb_url, "--user", orthanc.auth[0]]) == 0
    assert main(["pacs", "echo", "--dimse", f"{ORTHANC_AET}@127.0.0.1:{orthanc.dicom_port}",
                 "--aet", "STRANGER", "--timeout", "10"]) == 2
    assert "rejected the association" in capsys.readouterr().err


def test_find_over_dimse(capsys, orthanc, studies):
    cr = studies[CHEST_CR]
    assert main(["pacs", "find", *_dimse(orthanc), "--patient-id", str(cr.PatientID), "--json"]) == 0
    (found,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert found["study_uid"] == cr.StudyInstanceUID


def test_dimse_and_user_do_not_mix(capsys, monkeypatch):
    monkeypatch.setenv("CXR_PACS_PASSWORD", "x")
    assert main(["pacs", "find", "--dimse", "PACS@127.0.0.1:104", "--user", "me"]) == 2
    assert "--user goes with --url" in capsys.readouterr().err
