"""`cxr predict` on real demo images and DICOMs with a random model directory."""

from __future__ import annotations

import json
import logging
import shutil
import stat
from pathlib import Path

import cv2
import numpy as np
import pytest

from cxrviewer.cli import predict
from cxrviewer.cli.main import main
from cxrviewer.io import load_image
from cxrviewer.model.export import create_random_model_dir

DENTAL = "dental_cr_mono1_jpeg_lossless_modality_lut.dcm"
CHEST_DX = "chest_dx_mono2_uncompressed.dcm"
CHEST_CR = "chest_cr_mono1_j2k_lossy.dcm"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return create_random_model_dir(tmp_path_factory.mktemp("cli") / "model")


@pytest.fixture
def study(tmp_path: Path, samples_dir: Path, dicom_dir: Path) -> Path:
    """Demo JPEG + PNG at the top, the dental DICOM in a sub-folder, a text file to skip."""
    root = tmp_path / "study"
    (root / "other").mkdir(parents=True)
    for name in ("covid_hannover_4d98e1de.png", "normal_kermany_IM-0195-0001.jpg"):
        shutil.copy(samples_dir / name, root / name)
    shutil.copy(dicom_dir / DENTAL, root / "other" / DENTAL)
    (root / "notes.txt").write_text("not an image")
    return root


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.slow  # a model reading and CAM for every file of a folder
def test_json_lines_for_a_walked_folder_with_cam_pngs(capsys, model_dir, study, tmp_path):
    cam_dir = tmp_path / "cams"
    code = main(["predict", str(study), "--model", str(model_dir), "--json", "--cam-dir", str(cam_dir),
                 "--cam-method", "hirescam", "--batch-size", "2"])
    records = _json_lines(capsys.readouterr().out)
    assert code == 0
    assert [Path(r["path"]).name for r in records] == ["covid_hannover_4d98e1de.png",
                                                       "normal_kermany_IM-0195-0001.jpg", DENTAL]
    for record in records:
        assert tuple(record) == predict.JSON_KEYS and record["ok"] and record["error"] is None
        assert set(record["probabilities"]) == {"normal", "pneumonia", "covid"}
        assert sum(record["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
        assert record["label"] == max(record["probabilities"], key=record["probabilities"].get)
        assert isinstance(record["uncertain"], bool) and set(record["ood"]) == {"flag", "score"}
        assert {"load_ms", "preprocess_ms", "forward_ms", "cam_ms", "outputs_ms"} <= set(record["timings"])
        png = Path(record["cam"])
        source = load_image(record["path"])
        picture = cv2.imread(str(png), cv2.IMREAD_UNCHANGED)
        assert png.parent == cam_dir and picture.shape == (source.height, source.width, 3)
        assert stat.S_IMODE(png.stat().st_mode) & stat.S_IROTH
    assert not list(cam_dir.glob(".*.tmp"))  # atomic writes leave no temporary files


def test_text_output_and_no_cam_without_cam_dir(capsys, model_dir, dicom_dir):
    code = main(["predict", str(dicom_dir / CHEST_DX), "--model", str(model_dir)])
    out, err = capsys.readouterr()
    assert code == 0
    assert out.startswith(f"{dicom_dir / CHEST_DX}: ") and "cam:" not in out
    assert "not for diagnosis" in err and "1 image(s), 0 failed" in err


def test_no_patient_data_in_the_output_or_the_log(capsys, caplog, model_dir, dicom_dir):
    from pydicom import dcmread

    caplog.set_level(logging.DEBUG)
    files = [dicom_dir / CHEST_CR, dicom_dir / DENTAL]
    main(["predict", *map(str, files), "--model", str(model_dir), "--json"])
    main(["predict", *map(str, files), "--model", str(model_dir)])
    out, err = capsys.readouterr()
    printed = out + err + caplog.text
    for path in files:
        dataset = dcmread(path, stop_before_pixels=True)
        values = [str(dataset.get(k, "")) for k in ("PatientName", "PatientID", "PatientBirthDate", "AccessionNumber")]
        assert all(len(v) > 1 for v in values), "the test needs files that carry these tags"
        assert not [v for v in values if v in printed]


def test_a_corrupt_file_fails_that_image_and_exits_1(capsys, model_dir, samples_dir, tmp_path):
    corrupt = tmp_path / "cut.png"
    corrupt.write_bytes((samples_dir / "covid_hannover_4d98e1de.png").read_bytes()[:5000])
    good = samples_dir / "normal_kermany_IM-0195-0001.jpg"
    code = main(["predict", str(corrupt), str(good), "--model", str(model_dir), "--json"])
    records = _json_lines(capsys.readouterr().out)
    assert code == 1
    assert [r["ok"] for r in records] == [False, True]
    assert tuple(records[0]) == predict.JSON_KEYS and "cut.png" in records[0]["error"]
    assert records[0]["probabilities"] is None and records[0]["cam"] is None


def test_missing_bundled_model_exits_2(capsys, monkeypatch, tmp_path, samples_dir):
    monkeypatch.setattr(predict, "bundled_model_dir", lambda: tmp_path / "models" / "cxr3-default")
    code = main(["predict", str(samples_dir)])
    err = capsys.readouterr().err
    assert code == 2 and "bundled model is not installed" in err and "--model" in err


def test_unusable_model_dir_exits_2(capsys, model_dir, tmp_path, samples_dir):
    broken = tmp_path / "broken"
    shutil.copytree(model_dir, broken)
    (broken / "model.safetensors").write_bytes(b"tampered")
    code = main(["predict", str(samples_dir), "--model", str(broken)])
    err = capsys.readouterr().err
    assert code == 2 and "sha256" in err


def test_usage_errors_exit_2(capsys, model_dir, samples_dir):
    with pytest.raises(SystemExit) as exited:
        main(["predict", str(samples_dir), "--model", str(model_dir), "--cam-method", "scorecam"])
    assert exited.value.code == 2
    capsys.readouterr()


def test_unavailable_cuda_is_a_clear_usage_error(capsys, model_dir, samples_dir):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    code = main(["predict", str(samples_dir), "--model", str(model_dir), "--device", "cuda"])
    assert code == 2 and "no CUDA GPU" in capsys.readouterr().err


def test_same_file_names_get_distinct_cam_pngs(capsys, model_dir, samples_dir, tmp_path):
    for sub in ("a", "b"):
        (tmp_path / "in" / sub).mkdir(parents=True)
        shutil.copy(samples_dir / "normal_kermany_IM-0195-0001.jpg", tmp_path / "in" / sub / "x.jpg")
    code = main(["predict", str(tmp_path / "in"), "--model", str(model_dir), "--json",
                 "--cam-dir", str(tmp_path / "cams")])
    cams = [Path(r["cam"]).name for r in _json_lines(capsys.readouterr().out)]
    assert code == 0 and cams == ["x.cam.png", "x-2.cam.png"]


def test_lung_masks_raw_maps_and_the_lungs_key(capsys, model_dir, dicom_dir, samples_dir, tmp_path):
    """--lung-dir and --cam-raw files match the image as loaded; JSON 'lungs' agrees with them."""
    inputs = [dicom_dir / CHEST_CR, samples_dir / "normal_kermany_IM-0195-0001.jpg"]
    code = main(["predict", *map(str, inputs), "--model", str(model_dir), "--json", "--cam-method", "gradcam++",
                 "--lung-dir", str(tmp_path / "lungs"), "--cam-raw", str(tmp_path / "raw")])
    records = _json_lines(capsys.readouterr().out)
    assert code == 0 and len(records) == 2
    for path, record in zip(inputs, records):
        image = load_image(path)
        mask = cv2.imread(str(tmp_path / "lungs" / f"{path.stem}.lungs.png"), cv2.IMREAD_UNCHANGED)
        cam = np.load(tmp_path / "raw" / f"{path.stem}.cam.npy")
        assert mask.dtype == np.uint8 and mask.shape == image.pixels.shape and set(np.unique(mask)) <= {0, 255}
        assert cam.dtype == np.float32 and cam.shape == image.pixels.shape and 0 <= cam.min() and cam.max() <= 1
        lungs = record["lungs"]
        assert set(lungs) == {"found", "area_fraction", "cam_in_lungs"} and lungs["found"]
        expected = float(cam[mask == 255].sum() / cam.sum())
        assert lungs["cam_in_lungs"] == pytest.approx(expected, abs=1e-3)
        assert record["cam"] is None  # no --cam-dir: no overlay PNG


def test_an_unwritable_output_folder_is_refused_before_any_image_is_read(capsys, model_dir, samples_dir, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code = main(["predict", str(samples_dir), "--model", str(model_dir), "--lung-dir", str(blocker / "sub")])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == "" and "--lung-dir" in captured.err
