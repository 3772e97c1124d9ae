"""The ONNX Runtime path (model/onnx_runtime.py) gives the PyTorch model's answers, without torch.

Against the bundled model as loaded (PyTorch, eager, BatchNorm in place), on real chest
X-rays and on non-chest DICOMs: the same labels and OOD flags, probabilities within 1e-3,
OOD scores within 1e-4 (relative), maps correlated above 0.999 for every CAM method and
an explicit class, the same lung fields. And: a graph that is not the directory's own is
refused, the engine picks its runtime as documented, and training writes a graph.
No timings here: benchmarks/bench_forward.py and bench_startup.py measure the speed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cxrviewer.inference import backends
from cxrviewer.inference.engine import ENGINE_ENV, FAST_FORWARD_ENV, InferenceEngine
from cxrviewer.inference.requests import InferenceRequest
from cxrviewer.io import load_image
from cxrviewer.model.cam_options import CAM_METHODS
from cxrviewer.model.config import CONFIG_FILE, RUNTIME_FILE
from cxrviewer.model.errors import ModelFileMissingError, ModelIntegrityError
from cxrviewer.model.lung_fields import dice
from cxrviewer.model.onnx_runtime import OnnxLungSegmenter, OnnxPredictor
from cxrviewer.resources import bundled_lung_model_dir, bundled_model_dir

MAX_PROBABILITY_DIFFERENCE = 1e-3
MIN_CAM_CORRELATION = 0.999
OOD_RELATIVE = 1e-4


@pytest.fixture(scope="module")
def engines() -> tuple[InferenceEngine, InferenceEngine]:
    onnx = InferenceEngine.load(bundled_model_dir(), device="cpu")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ENGINE_ENV, "torch")
        patch.setenv(FAST_FORWARD_ENV, "0")
        torch_as_loaded = InferenceEngine.load(bundled_model_dir(), device="cpu")
    return onnx, torch_as_loaded


@pytest.fixture(scope="module")
def images(cxr3_paths, dicom_dir: Path):
    paths = cxr3_paths[:6] + [dicom_dir / "chest_cr_mono1_j2k_lossy.dcm",
                              dicom_dir / "dental_cr_mono1_jpeg_lossless_modality_lut.dcm",
                              dicom_dir / "hip_cr_rle.dcm"]
    return [load_image(p) for p in paths]


def _same_reading(ours, expected) -> None:
    assert ours.label == expected.label and ours.ood_flag == expected.ood_flag
    assert max(abs(ours.probabilities[k] - p) for k, p in expected.probabilities.items()) < MAX_PROBABILITY_DIFFERENCE
    assert ours.ood_score == pytest.approx(expected.ood_score, rel=OOD_RELATIVE)
    assert ours.lungs.found == expected.lungs.found
    assert dice(ours.lungs.mask, expected.lungs.mask) > 0.99


def test_the_bundled_models_run_on_onnx_runtime(engines):
    onnx, torch_as_loaded = engines
    assert onnx.info.forward_form == "onnxruntime" and "ONNX Runtime" in onnx.info.device_name
    assert isinstance(onnx.predictor, OnnxPredictor) and isinstance(onnx.segmenter, OnnxLungSegmenter)
    assert torch_as_loaded.info.forward_form == "none"


@pytest.mark.parametrize("method", CAM_METHODS)
def test_onnx_runtime_gives_the_torch_models_readings_and_maps(engines, images, method):
    onnx, torch_as_loaded = engines
    requests = [InferenceRequest(i, image=image, cam=True, cam_method=method) for i, image in enumerate(images)]
    for ours, expected in zip(onnx.run_many(requests, images), torch_as_loaded.run_many(requests, images)):
        _same_reading(ours, expected)
        assert ours.cam.shape == expected.cam.shape and ours.cam_label == expected.cam_label
        assert np.corrcoef(ours.cam.ravel(), expected.cam.ravel())[0, 1] > MIN_CAM_CORRELATION
        assert ours.lungs.cam_in_lungs == pytest.approx(expected.lungs.cam_in_lungs, abs=1e-3)


def test_the_map_of_a_chosen_class_and_the_reading_without_a_map_match_too(engines, images):
    onnx, torch_as_loaded = engines
    for target in ("covid", 0):
        requests = [InferenceRequest(i, image=image, cam=True, target=target) for i, image in enumerate(images[:4])]
        for ours, expected in zip(onnx.run_many(requests, images[:4]), torch_as_loaded.run_many(requests, images[:4])):
            assert ours.cam_label == expected.cam_label
            assert np.corrcoef(ours.cam.ravel(), expected.cam.ravel())[0, 1] > MIN_CAM_CORRELATION
    requests = [InferenceRequest(i, image=image, cam=False) for i, image in enumerate(images)]
    for ours, expected in zip(onnx.run_many(requests, images), torch_as_loaded.run_many(requests, images)):
        _same_reading(ours, expected)
        assert ours.cam is None


def test_the_viewers_path_on_onnx_runtime_imports_no_torch(samples_dir):
    code = (
        "import sys\n"
        "from cxrviewer.inference.engine import InferenceEngine\n"
        "from cxrviewer.inference.requests import InferenceRequest\n"
        "from cxrviewer.io.sandbox import load_image_isolated\n"
        "from cxrviewer.resources import bundled_model_dir\n"
        "engine = InferenceEngine.load(bundled_model_dir())\n"
        f"image = load_image_isolated({str(samples_dir / 'chest_dx_nih.dcm')!r})\n"
        "result = engine.run(InferenceRequest(1, image=image, cam=True))\n"
        "assert result.cam is not None and result.lungs.found, result\n"
        "print(engine.info.forward_form, 'torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-2:] == ["onnxruntime", "False"]


def _copy_bundled(tmp_path: Path) -> Path:
    copy = tmp_path / "model"
    shutil.copytree(bundled_model_dir(), copy)
    return copy


def test_a_changed_graph_is_refused(tmp_path):
    copy = _copy_bundled(tmp_path)
    data = bytearray((copy / RUNTIME_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / RUNTIME_FILE).write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="model.onnx does not match"):
        InferenceEngine.load(copy, device="cpu")  # refused, not quietly run on torch


def test_a_graph_of_other_weights_is_refused_even_with_its_hash_recorded(tmp_path, two_label_model_dir):
    """A graph swapped in by hand, with model.json's hash edited to match, still names other weights."""
    from cxrviewer.model.model_files import sha256_file
    from cxrviewer.model.onnx_export import export_classifier

    other = tmp_path / "other"
    shutil.copytree(two_label_model_dir, other)
    export_classifier(other)
    copy = _copy_bundled(tmp_path)
    shutil.copy(other / RUNTIME_FILE, copy / RUNTIME_FILE)
    config = json.loads((copy / CONFIG_FILE).read_text())
    config["files"][RUNTIME_FILE] = sha256_file(copy / RUNTIME_FILE)
    (copy / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(ModelIntegrityError, match="not exported from this directory"):
        OnnxPredictor.from_dir(copy)


def test_the_engine_runs_on_torch_where_onnx_cannot(tmp_path, monkeypatch, two_label_model_dir):
    lungs = bundled_lung_model_dir()
    assert backends.choose(bundled_model_dir(), "auto", lungs) == backends.ONNX  # no GPU driver here
    assert backends.choose(bundled_model_dir(), "cuda", lungs) == backends.TORCH
    assert backends.choose(two_label_model_dir, "cpu", lungs) == backends.TORCH  # no graph exported
    monkeypatch.setenv(ENGINE_ENV, "onnx")
    with pytest.raises(ValueError, match="has no exported ONNX graph"):
        backends.choose(two_label_model_dir, "cpu", lungs)
    monkeypatch.setenv(ENGINE_ENV, "torch")
    assert backends.choose(bundled_model_dir(), "cpu", lungs) == backends.TORCH
    monkeypatch.setenv(ENGINE_ENV, "fastest")
    with pytest.raises(ValueError, match="must be auto, onnx or torch"):
        backends.choose(bundled_model_dir(), "cpu", lungs)


def test_a_lung_model_without_its_graph_is_not_run_on_onnx(tmp_path):
    copy = tmp_path / "lungs"
    shutil.copytree(bundled_lung_model_dir(), copy)
    config = json.loads((copy / "lungs.json").read_text())
    del config["files"]["lungs.onnx"]
    (copy / "lungs.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileMissingError, match="no lungs.onnx"):
        OnnxLungSegmenter.from_dir(copy)
    assert backends.choose(bundled_model_dir(), "cpu", copy) == backends.TORCH


def test_writing_new_weights_removes_the_old_graph(tmp_path):
    from cxrviewer.model.model_dir import read_model_dir, save_model_dir

    copy = _copy_bundled(tmp_path)
    contents = read_model_dir(copy)
    save_model_dir(copy, contents.state_dict, contents.config, contents.extra_tensors, "new card\n")
    assert not (copy / RUNTIME_FILE).exists()
    assert RUNTIME_FILE not in read_model_dir(copy).config.files
    assert backends.choose(copy, "cpu", bundled_lung_model_dir()) == backends.TORCH


def test_auto_asks_torch_only_where_a_gpu_driver_is_installed(monkeypatch):
    lungs = bundled_lung_model_dir()
    monkeypatch.setattr(backends, "gpu_driver_present", lambda: True)
    # This machine's torch finds no GPU behind the (pretended) driver: ONNX Runtime still runs the model.
    assert backends.choose(bundled_model_dir(), "auto", lungs) == backends.ONNX
    from cxrviewer.inference import torch_backend

    monkeypatch.setattr(torch_backend, "accelerator_available", lambda: True)
    assert backends.choose(bundled_model_dir(), "auto", lungs) == backends.TORCH
