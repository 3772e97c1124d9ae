"""`cxr listen`: C-STORE of real files in, the worklist and the forwarded SR/SC out.

The in-process tests use a stand-in reader (no model, seconds); the slow one runs the real
`cxr listen` as a subprocess with a model, forwarding to the Orthanc fixture by STOW-RS,
and stops it with SIGTERM. Images sent get fresh Study/Series/SOP UIDs and a test patient
ID, so what lands in Orthanc never mixes with the studies the other PACS tests count.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import generate_uid
from pynetdicom import AE

from cxrviewer.pacs.dimse import DimseStore
from cxrviewer.pacs.listener import ListenerConfig, StoreListener
from cxrviewer.pacs.node import DimseNode
from cxrviewer.pacs.send import ResultSender
from cxrviewer.pacs.worklist import (CSV_NAME, JSON_NAME, NEWEST, QUEUED, READ, SUSPICIOUS, WorklistEntry,
                                     load_entries, ordered)
from tests.orthanc_fixture import CLIENT_AET, ORTHANC_AET, free_port

from .conftest import CHEST_CR, CHEST_DX, text_sr

LISTENER_AET = "CXRLISTEN"


def _fresh_copy(path: Path, patient_id: str) -> pydicom.Dataset:
    """The real file with new UIDs and a test patient ID (pixels as they are)."""
    ds = pydicom.dcmread(path)
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.PatientID, ds.PatientName = patient_id, "Listen^Test"
    return ds


def _broken_copy(path: Path) -> pydicom.Dataset:
    """A DX image whose pixel data is cut short: it must fail to read without stopping anything."""
    ds = _fresh_copy(path, "LISTEN-BROKEN")
    ds.PixelData = ds.PixelData[:1000]
    return ds


def _c_store(port: int, datasets: list[pydicom.Dataset], called: str = LISTENER_AET) -> list[int]:
    ae = AE(ae_title="MODALITY")
    for timeout in ("acse_timeout", "dimse_timeout", "network_timeout", "connection_timeout"):
        setattr(ae, timeout, 30)
    for ds in datasets:
        ae.add_requested_context(ds.SOPClassUID, ds.file_meta.TransferSyntaxUID)
    assoc = ae.associate("127.0.0.1", port, ae_title=called)
    assert assoc.is_established, "the listener did not accept the association"
    try:
        return [int(assoc.send_c_store(ds).Status) for ds in datasets]
    finally:
        assoc.release()
        ae.shutdown()


def _text_sr_dataset(study_uid: str) -> pydicom.Dataset:
    return pydicom.dcmread(io.BytesIO(text_sr(study_uid, "LISTEN-SR")))


def _wait_for(out: Path, count: int, timeout_s: float = 240.0) -> list[WorklistEntry]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        entries = load_entries(out / JSON_NAME)
        if len(entries) >= count and all(e.status != QUEUED for e in entries):
            return entries
        time.sleep(0.2)
    raise AssertionError(f"worklist not done within {timeout_s:g} s: {load_entries(out / JSON_NAME)}")


def _record(pneumonia: float) -> dict:
    probabilities = {"normal": 1 - pneumonia - 0.05, "pneumonia": pneumonia, "covid": 0.05}
    label = max(probabilities, key=probabilities.get)
    return {"ok": True, "probabilities": probabilities, "label": label, "confidence": probabilities[label],
            "uncertain": False, "ood": {"flag": False, "score": 1.0}}


def test_worklist_orders_most_suspicious_or_newest_first():
    base = dict(study_uid="1.2", series_uid="1.3", path="x.dcm")
    entries = [WorklistEntry(received=f"2024-01-01T10:00:0{i}", sop_uid=f"1.{i}", sequence=i, **base)
               for i in range(5)]
    entries[0] = entries[0].read(_record(0.9))
    entries[1] = entries[1].read(_record(0.2))
    entries[2] = entries[2].read({"ok": False, "error": "broken"})
    entries[3] = entries[3].read({**_record(0.95), "ood": {"flag": True, "score": 99.0}})
    assert [e.sop_uid for e in ordered(entries, SUSPICIOUS)] == ["1.0", "1.1", "1.3", "1.4", "1.2"]
    assert [e.sop_uid for e in ordered(entries, NEWEST)] == ["1.4", "1.3", "1.2", "1.1", "1.0"]


def test_listener_reads_images_skips_others_and_forwards_by_c_store(orthanc, dicom_dir, random_model_dir, tmp_path):
    """In process, with a stand-in reader: CR and DX are queued and read, a text SR is skipped,
    the worklist (JSON and CSV) is most suspicious first, and each reading's SR reaches Orthanc by
    C-STORE (no heat map without the model, so no Secondary Capture here)."""
    readings = {}

    def read(path: Path):
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        return readings[str(ds.SOPInstanceUID)], None, None

    node = DimseNode(ORTHANC_AET, "127.0.0.1", orthanc.dicom_port, our_ae_title=CLIENT_AET, timeout_s=10)
    sender = ResultSender(DimseStore(node), random_model_dir)
    port = free_port()
    listener = StoreListener(ListenerConfig(LISTENER_AET, port, tmp_path / "out", host="127.0.0.1"), read,
                             forward=lambda ref, record, result, image: sender.send(ref, record, image, None))
    cr, dx = _fresh_copy(dicom_dir / CHEST_CR, "LISTEN-CR"), _fresh_copy(dicom_dir / CHEST_DX, "LISTEN-DX")
    readings[cr.SOPInstanceUID], readings[dx.SOPInstanceUID] = _record(0.3), _record(0.8)
    listener.start()
    try:
        statuses = _c_store(port, [cr, _text_sr_dataset(cr.StudyInstanceUID), dx])
        assert statuses == [0, 0, 0]
        entries = _wait_for(tmp_path / "out", 2, timeout_s=60)
    finally:
        listener.stop()
    assert [(e.sop_uid, e.status, e.forwarded) for e in entries] == [
        (dx.SOPInstanceUID, READ, True), (cr.SOPInstanceUID, READ, True)]
    assert entries[0].suspicion == pytest.approx(0.8) and entries[0].patient_id == "LISTEN-DX"
    assert Path(entries[0].path).is_file()
    assert (listener.counts.read, listener.counts.skipped, listener.counts.forwarded) == (2, 1, 2)
    with open(tmp_path / "out" / CSV_NAME, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["sop_uid"] for r in rows] == [dx.SOPInstanceUID, cr.SOPInstanceUID]
    for ds in (cr, dx):
        study = orthanc.post("/tools/lookup", data=ds.StudyInstanceUID).json()
        assert study, "no results in Orthanc for a study"
        series = orthanc.get(f"/studies/{study[0]['ID']}/series").json()
        assert [s["MainDicomTags"]["Modality"] for s in series] == ["SR"]
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.endswith(".tmp")]


@pytest.mark.slow  # the model in a subprocess (torch import, sandboxed decoding, Grad-CAM of a 1955x1841 film)
def test_cxr_listen_forwards_to_orthanc_and_stops_on_sigterm(orthanc, dicom_dir, random_model_dir, tmp_path):
    out, port = tmp_path / "inbox", free_port()
    env = {**os.environ, "CXR_PACS_PASSWORD": orthanc.auth[1], "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "cxrviewer.cli.main", "listen", "--aet", LISTENER_AET, "--port", str(port),
               "--bind", "127.0.0.1", "--forward-url", orthanc.dicomweb_url, "--user", orthanc.auth[0],
               "--out", str(out), "--model", str(random_model_dir), "--device", "cpu"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        _wait_ready(process)
        cr = _fresh_copy(dicom_dir / CHEST_CR, "LISTEN-SUB")
        broken = _broken_copy(dicom_dir / CHEST_DX)
        assert _c_store(port, [_text_sr_dataset(cr.StudyInstanceUID), broken, cr]) == [0, 0, 0]
        entries = _wait_for(out, 2)
        children = _children(process.pid)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    by_sop = {e.sop_uid: e for e in entries}
    assert by_sop[cr.SOPInstanceUID].status == READ and by_sop[cr.SOPInstanceUID].forwarded is True
    assert by_sop[broken.SOPInstanceUID].status == "failed" and by_sop[broken.SOPInstanceUID].error
    assert "not an image" in err and "stopped: 2 image(s) received, 1 read, 1 failed, 1 skipped" in err
    for private in ("LISTEN-SUB", "Listen^Test", "LISTEN-BROKEN"):  # no patient data on stderr
        assert private not in err
    document = json.loads((out / JSON_NAME).read_text())
    assert document["entries"][0]["sop_uid"] == cr.SOPInstanceUID  # read before failed
    study = orthanc.post("/tools/lookup", data=cr.StudyInstanceUID).json()
    modalities = sorted(s["MainDicomTags"]["Modality"]
                        for s in orthanc.get(f"/studies/{study[0]['ID']}/series").json())
    assert modalities == ["OT", "SR"]  # the reading and the heat-map Secondary Capture
    time.sleep(0.5)
    assert not [pid for pid in children if _alive(pid)], "cxr listen left child processes running"
    assert not list(out.glob("**/*.tmp"))


def _wait_ready(process: subprocess.Popen, timeout_s: float = 180.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line and process.poll() is not None:
            raise AssertionError(f"cxr listen exited with {process.returncode}: {process.stderr.read()}")
        if "cxr listen: listening" in line:
            return
    raise AssertionError("cxr listen did not start listening in time")


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")
