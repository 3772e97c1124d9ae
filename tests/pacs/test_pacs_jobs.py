"""The viewer's PACS jobs without Qt: a search, a retrieval naming its failed study, and sending a
reading back by C-STORE (into a fresh copy's study, so the other tests' studies stay as they are)."""

from __future__ import annotations

import io

import pydicom
from pydicom.uid import generate_uid

from cxrviewer.pacs.jobs import (FindJob, ResultsSent, RetrieveFinished, RetrieveJob, SendJob, StudiesFound,
                                 StudyFailed, StudyRetrieved, record_from_result, run_job)
from cxrviewer.pacs.node import DimseNode
from cxrviewer.pacs.query import StudyQuery
from tests.orthanc_fixture import CLIENT_AET, ORTHANC_AET

from .conftest import CHEST_CR, CHEST_DX, NO_IMAGES_STUDY


def _node(orthanc) -> DimseNode:
    return DimseNode(ORTHANC_AET, "127.0.0.1", orthanc.dicom_port, our_ae_title=CLIENT_AET, timeout_s=10)


def test_find_and_retrieve_jobs(orthanc, studies, tmp_path):
    node = _node(orthanc)
    (found,) = run_job(1, FindJob(node, StudyQuery(patient_id=str(studies[CHEST_CR].PatientID))), lambda: False)
    assert isinstance(found, StudiesFound) and found.studies[0].study_uid == studies[CHEST_CR].StudyInstanceUID
    dx = studies[CHEST_DX].StudyInstanceUID
    messages = list(run_job(2, RetrieveJob(node, (NO_IMAGES_STUDY, dx), cache_dir=tmp_path), lambda: False))
    failed = [m for m in messages if isinstance(m, StudyFailed)]
    retrieved = [m for m in messages if isinstance(m, StudyRetrieved)]
    assert [m.study_uid for m in failed] == [NO_IMAGES_STUDY] and [m.study_uid for m in retrieved] == [dx]
    assert messages[-1] == RetrieveFinished(2, 1, 1, False)
    cancelled = list(run_job(3, RetrieveJob(node, (dx,), cache_dir=tmp_path), lambda: True))
    assert cancelled[-1] == RetrieveFinished(3, 0, 0, True)


def test_send_job_stores_the_sr(orthanc, dicom_dir, random_model_dir, tmp_path):
    from types import SimpleNamespace

    ds = pydicom.dcmread(dicom_dir / CHEST_DX)
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.PatientID = "JOBS-SEND"
    path = tmp_path / "image.dcm"
    ds.save_as(path)
    result = SimpleNamespace(path=path, probabilities={"normal": 0.2, "pneumonia": 0.7, "covid": 0.1},
                             label="pneumonia", confidence=0.7, uncertain=False, ood_flag=False, ood_score=3.0)
    (sent,) = run_job(4, SendJob(_node(orthanc), path, record_from_result(result), random_model_dir), lambda: False)
    assert sent == ResultsSent(4, 1, f"{ORTHANC_AET}@127.0.0.1:{orthanc.dicom_port}")
    study = orthanc.post("/tools/lookup", data=ds.StudyInstanceUID).json()
    (instance,) = orthanc.get(f"/studies/{study[0]['ID']}/instances").json()
    sr = pydicom.dcmread(io.BytesIO(orthanc.get(f"/instances/{instance['ID']}/file").content))
    assert sr.Modality == "SR" and sr.PatientID == "JOBS-SEND"
