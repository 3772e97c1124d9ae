"""`cxr pacs predict --send-results` against a real Orthanc: the JSON lines, then the SR and the
Secondary Capture read back from Orthanc (references, values, disclaimer, model identity)."""

from __future__ import annotations

import io
import json

import highdicom as hd
import pydicom
import pytest
from pydicom.sr.codedict import codes

from cxrviewer.cli import predict
from cxrviewer.cli.main import main
from cxrviewer.pacs.model_identity import ModelIdentity
from cxrviewer.pacs.results_dicom import DISCLAIMER, OOD_FLAG, OOD_SCORE, UNCERTAIN, probability_code

from .conftest import CHEST_CR


@pytest.mark.slow  # the sandboxed decoder pool and a model reading with a CAM of a 1955x1841 film
def test_predict_and_send_back(capsys, orthanc, pacs_password, studies, random_model_dir, tmp_path):
    cr = studies[CHEST_CR]
    code = main(["pacs", "predict", "--url", orthanc.dicomweb_url, "--user", orthanc.auth[0], "--study",
                 cr.StudyInstanceUID, "--modality", "CR", "--send-results", "--json", "--model",
                 str(random_model_dir), "--device", "cpu", "--cache-dir", str(tmp_path / "cache")])
    out, err = capsys.readouterr()
    assert code == 0, err
    (record,) = [json.loads(line) for line in out.splitlines()]
    assert tuple(record) == (*predict.JSON_KEYS, "study_uid", "series_uid", "sop_uid") and record["ok"]
    assert (record["study_uid"], record["series_uid"], record["sop_uid"]) == (
        cr.StudyInstanceUID, cr.SeriesInstanceUID, cr.SOPInstanceUID)

    by_modality = _results(orthanc, cr.StudyInstanceUID)
    assert set(by_modality) == {"CR", "SR", "OT"}
    _check_sr(by_modality["SR"], cr, record, ModelIdentity.from_model_dir(random_model_dir))
    _check_sc(by_modality["OT"], cr)

    # A second run reads the film again and skips our own results, saying what they are.
    code = main(["pacs", "predict", "--url", orthanc.dicomweb_url, "--user", orthanc.auth[0], "--study",
                 cr.StudyInstanceUID, "--modality", "CR", "--model", str(random_model_dir), "--device", "cpu",
                 "--cache-dir", str(tmp_path / "cache")])
    err = capsys.readouterr().err
    assert code == 0 and "Comprehensive SR Storage, SR): not an image" in err
    assert "Secondary Capture Image Storage, OT): not one of CR" in err


def _results(orthanc, study_uid: str) -> dict[str, pydicom.Dataset]:
    """Every instance of the study, read back from Orthanc, by modality."""
    found = {}
    study = orthanc.post("/tools/lookup", data=study_uid).json()
    assert study, "study not in Orthanc"
    for instance in orthanc.get(f"/studies/{study[0]['ID']}/instances").json():
        ds = pydicom.dcmread(io.BytesIO(orthanc.get(f"/instances/{instance['ID']}/file").content))
        assert ds.Modality not in found
        found[ds.Modality] = ds
    return found


def _check_sr(ds: pydicom.Dataset, source: pydicom.Dataset, record: dict, model: ModelIdentity) -> None:
    sr = hd.sr.ComprehensiveSR.from_dataset(ds)
    assert sr.StudyInstanceUID == source.StudyInstanceUID and sr.PatientID == source.PatientID
    assert sr.SeriesInstanceUID != source.SeriesInstanceUID
    (group,) = sr.content.get_image_measurement_groups()
    (image,) = group.source_images
    assert image.referenced_sop_instance_uid == source.SOPInstanceUID
    assert image.referenced_sop_class_uid == source.SOPClassUID
    evidence = sr.CurrentRequestedProcedureEvidenceSequence[0]
    assert evidence.StudyInstanceUID == source.StudyInstanceUID
    assert evidence.ReferencedSeriesSequence[0].SeriesInstanceUID == source.SeriesInstanceUID
    values = {_key(m.name): m.value for m in group.get_measurements()}
    for label, probability in record["probabilities"].items():
        assert values[_key(probability_code(label))] == pytest.approx(probability, rel=1e-6)
    assert values[_key(OOD_SCORE)] == pytest.approx(record["ood"]["score"], rel=1e-6)
    evaluations = {_key(e.name): _key(e.value) for e in group.get_qualitative_evaluations()}
    assert _key(group.finding_type) == (record["label"], "99CXRV")
    assert evaluations[_key(UNCERTAIN)] == _key(codes.SCT.Yes if record["uncertain"] else codes.SCT.No)
    assert evaluations[_key(OOD_FLAG)] == _key(codes.SCT.Yes if record["ood"]["flag"] else codes.SCT.No)
    texts = _texts(ds)
    assert DISCLAIMER in texts and model.name in texts and model.version in texts
    assert f"model.safetensors sha256={model.weights_sha256}" in texts
    assert "research use only" in ds.SeriesDescription


def _check_sc(ds: pydicom.Dataset, source: pydicom.Dataset) -> None:
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.7" and ds.StudyInstanceUID == source.StudyInstanceUID
    assert ds.SeriesInstanceUID != source.SeriesInstanceUID and ds.PatientID == source.PatientID
    assert ds.BurnedInAnnotation == "YES" and "not for diagnosis" in ds.ImageComments
    assert ds.SourceImageSequence[0].ReferencedSOPInstanceUID == source.SOPInstanceUID
    pixels = ds.pixel_array
    assert ds.PhotometricInterpretation == "RGB" and pixels.shape[1] == source.Columns
    assert pixels.shape[0] > source.Rows  # the caption strip sits above the film
    caption = pixels[: pixels.shape[0] - source.Rows]
    assert caption.max() > 200 and (caption[..., 0] > caption[..., 2] + 100).any()  # the yellow disclaimer


def _key(code) -> tuple[str, str]:
    return code.value, code.scheme_designator


def _texts(ds: pydicom.Dataset) -> str:
    """Every TEXT value in the content tree, joined (what a reader of the SR sees)."""
    found = []

    def walk(items):
        for item in items:
            if item.get("ValueType") == "TEXT":
                found.append(str(item.TextValue))
            walk(item.get("ContentSequence", []))

    walk(ds.ContentSequence)
    return "\n".join(found)
