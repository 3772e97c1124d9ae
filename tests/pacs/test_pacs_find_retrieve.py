"""`cxr pacs find` and retrieval against a real Orthanc, and the ways a node can fail: each a clear
message and a prompt exit, never a hang."""

from __future__ import annotations

import json
import socket
import time

import pytest

from cxrviewer.cli.main import main
from cxrviewer.pacs.cache import InstanceCache
from cxrviewer.pacs.dicomweb import DicomWebPacs
from cxrviewer.pacs.errors import StudyProblem
from cxrviewer.pacs.node import DicomWebNode
from cxrviewer.pacs.retrieve import retrieve_study

from .conftest import CHEST_CR, CHEST_DX, DX_ACCESSION, NO_IMAGES_STUDY


def _find(capsys, orthanc, *extra) -> tuple[int, list[dict], str]:
    code = main(["pacs", "find", "--url", orthanc.dicomweb_url, "--user", orthanc.auth[0], "--json", *extra])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def _pacs(orthanc) -> DicomWebPacs:
    return DicomWebPacs(DicomWebNode(orthanc.dicomweb_url, username=orthanc.auth[0], password=orthanc.auth[1],
                                     timeout_s=10))


def test_find_by_patient_id_and_modality(capsys, orthanc, pacs_password, studies):
    cr = studies[CHEST_CR]
    code, rows, _ = _find(capsys, orthanc, "--patient-id", str(cr.PatientID))
    assert code == 0
    assert [r["study_uid"] for r in rows] == [cr.StudyInstanceUID]
    assert rows[0]["modalities"] == ["CR"] and rows[0]["accession"] == str(cr.AccessionNumber)
    code, rows, _ = _find(capsys, orthanc, "--modality", "DX")
    assert code == 0 and [r["study_uid"] for r in rows] == [studies[CHEST_DX].StudyInstanceUID]


def test_find_by_accession_and_date_range(capsys, orthanc, pacs_password, studies):
    code, rows, _ = _find(capsys, orthanc, "--accession", DX_ACCESSION)
    assert code == 0 and [r["study_uid"] for r in rows] == [studies[CHEST_DX].StudyInstanceUID]
    cr = studies[CHEST_CR]
    code, rows, _ = _find(capsys, orthanc, "--date-from", "2004-08-01", "--date-to", "2004-08-31")
    assert code == 0 and [r["study_uid"] for r in rows] == [cr.StudyInstanceUID]


def test_find_nothing_says_so(capsys, orthanc, pacs_password):
    code, rows, err = _find(capsys, orthanc, "--patient-id", "NOBODY-HERE")
    assert code == 1 and rows == [] and "no matching studies" in err


def test_retrieve_skips_non_images_and_reuses_the_cache(orthanc, studies, tmp_path, monkeypatch):
    dx = studies[CHEST_DX]
    pacs, cache = _pacs(orthanc), InstanceCache(tmp_path / "cache")
    study = retrieve_study(pacs, dx.StudyInstanceUID, cache)
    assert [ref.sop_uid for ref in study.images] == [dx.SOPInstanceUID]
    assert study.images[0].path.is_file() and study.images[0].path.is_relative_to(tmp_path / "cache")
    assert len(study.skipped) == 1 and "Basic Text SR" in study.skipped[0] and "not an image" in study.skipped[0]

    def no_download(*args):
        raise AssertionError("downloaded again")

    monkeypatch.setattr(pacs, "retrieve_instance", no_download)
    assert retrieve_study(pacs, dx.StudyInstanceUID, cache).images == study.images


def test_a_study_with_no_images_is_named(capsys, orthanc, pacs_password):
    with pytest.raises(StudyProblem, match="no CR/DX images to analyse"):
        retrieve_study(_pacs(orthanc), NO_IMAGES_STUDY, InstanceCache(None))
    code = main(["pacs", "predict", "--url", orthanc.dicomweb_url, "--user", orthanc.auth[0],
                 "--study", NO_IMAGES_STUDY, "--json"])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert f"study {NO_IMAGES_STUDY}: no CR/DX images" in err and "1 other object(s) skipped" in err


def test_an_unknown_study_is_named(capsys, orthanc, pacs_password, tmp_path):
    code = main(["pacs", "predict", "--url", orthanc.dicomweb_url, "--user", orthanc.auth[0],
                 "--study", "1.2.3.4.5.6.7.8.9", "--cache-dir", str(tmp_path)])
    assert code == 1 and "study 1.2.3.4.5.6.7.8.9: not found" in capsys.readouterr().err


def test_wrong_credentials(capsys, orthanc, monkeypatch):
    monkeypatch.setenv("CXR_PACS_PASSWORD", "not-the-password")
    for command in (["find"], ["predict", "--study", "1.2.3"]):
        code = main(["pacs", *command, "--url", orthanc.dicomweb_url, "--user", orthanc.auth[0]])
        err = capsys.readouterr().err
        assert code == 2 and "refused the credentials (HTTP 401)" in err, err


def test_no_credentials_against_a_node_that_needs_them(capsys, orthanc, monkeypatch):
    monkeypatch.delenv("CXR_PACS_TOKEN", raising=False)
    assert main(["pacs", "find", "--url", orthanc.dicomweb_url]) == 2
    assert "refused the credentials" in capsys.readouterr().err


def test_unreachable_node(capsys):
    port = _closed_port()
    start = time.monotonic()
    code = main(["pacs", "find", "--url", f"http://127.0.0.1:{port}/dicom-web", "--timeout", "2"])
    assert code == 2 and "cannot reach" in capsys.readouterr().err
    assert time.monotonic() - start < 10


def test_a_node_that_never_answers_times_out(capsys):
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) and never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/dicom-web"
        start = time.monotonic()
        code = main(["pacs", "predict", "--url", url, "--study", "1.2.3", "--timeout", "1"])
        elapsed = time.monotonic() - start
    assert code == 2 and "did not answer within 1 s" in capsys.readouterr().err
    assert elapsed < 10


@pytest.mark.parametrize(("argv", "message"), [
    (["find", "--url", "ftp://pacs/x"], "not a DICOMweb URL"),
    (["find", "--url", "http://user:pw@pacs/x"], "no credentials in the URL"),
    (["find", "--url", "http://pacs/x", "--modality", "C R"], "not a modality list"),
    (["find", "--url", "http://pacs/x", "--date-from", "yesterday"], "not a date"),
    (["predict", "--url", "http://pacs/x", "--study", "../../etc"], "not a DICOM Study Instance UID"),
])
def test_bad_arguments_are_usage_errors(capsys, monkeypatch, argv, message):
    monkeypatch.delenv("CXR_PACS_PASSWORD", raising=False)
    assert main(["pacs", *argv]) == 2
    assert message in capsys.readouterr().err


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
