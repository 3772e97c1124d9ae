"""The engine's inference form of the bundled model (model/fast_forward.py) gives the model's answers.

On 32 real chest X-rays: calibrated probabilities within 1e-3 of the model as loaded, the
same labels, OOD scores within 1e-4 (relative), Grad-CAM maps correlated above 0.999, for
each form (oneDNN fused, its fallback folded + channels-last) and through the engine.
No timings here: benchmarks/bench_forward.py measures the speed.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch

from cxrviewer.inference.engine import ENGINE_ENV, FAST_FORWARD_ENV, InferenceEngine
from cxrviewer.inference.requests import InferenceRequest
from cxrviewer.io import load_image
from cxrviewer.model import fast_forward
from cxrviewer.model.cam import compute_cam
from cxrviewer.model.cam_options import CAM_METHODS
from cxrviewer.model.fast_forward import FOLDED, FUSED, NONE, FusedConv, optimise_for_inference
from cxrviewer.model.predictor import Predictor
from cxrviewer.resources import bundled_model_dir

IMAGES = 32
MAX_PROBABILITY_DIFFERENCE = 1e-3
MIN_CAM_CORRELATION = 0.999
OOD_RELATIVE = 1e-4


@pytest.fixture(scope="module")
def loaded() -> Predictor:
    """The bundled model as Predictor.from_dir loads it (eager, BatchNorm in place): the reference."""
    predictor = Predictor.from_dir(bundled_model_dir(), device="cpu")
    predictor.model.requires_grad_(False)
    return predictor


@pytest.fixture(scope="module")
def real_inputs(loaded: Predictor, cxr3_dir: Path) -> torch.Tensor:
    lines = (cxr3_dir / "labels.csv").read_text().splitlines()
    header = lines[0].split(",")
    path_col, split_col = header.index("path"), header.index("split")
    paths = [cxr3_dir / r[path_col] for r in (line.split(",") for line in lines[1:]) if r[split_col] == "test"]
    assert len(paths) >= IMAGES
    return torch.from_numpy(np.stack([loaded.preprocess(load_image(p)).array for p in paths[:IMAGES]]))


@pytest.fixture(scope="module")
def reference(loaded: Predictor, real_inputs: torch.Tensor):
    return _outputs(loaded, loaded.model, real_inputs)


def _optimised(loaded: Predictor) -> tuple[torch.nn.Module, str]:
    model = copy.deepcopy(loaded.model)
    config = loaded.config
    return model, optimise_for_inference(model, config.input_size, (config.cam_target_layer, config.ood.layer))


def _outputs(predictor: Predictor, model, inputs: torch.Tensor, method: str = "gradcam", batch: int = 8):
    """(calibrated probabilities, OOD scores, Grad-CAM maps, explained classes) from one Grad-CAM pass."""
    probabilities, scores, maps, classes = [], [], [], []
    for start in range(0, len(inputs), batch):
        cam = compute_cam(model, inputs[start:start + batch], predictor.config.cam_target_layer, method)
        probabilities.append(torch.softmax(cam.logits / predictor.config.temperature, dim=1).numpy())
        scores.append(predictor.ood.score(cam.features).numpy())
        maps.append(cam.maps)
        classes.extend(cam.class_indices)
    return np.concatenate(probabilities), np.concatenate(scores), np.concatenate(maps), classes


def _assert_same_answers(ours, expected) -> None:
    probabilities, scores, maps, classes = ours
    ref_probabilities, ref_scores, ref_maps, ref_classes = expected
    assert np.abs(probabilities - ref_probabilities).max() < MAX_PROBABILITY_DIFFERENCE
    assert (probabilities.argmax(1) == ref_probabilities.argmax(1)).all() and classes == ref_classes
    np.testing.assert_allclose(scores, ref_scores, rtol=OOD_RELATIVE)
    correlations = [np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(maps, ref_maps)]
    assert min(correlations) > MIN_CAM_CORRELATION


def test_the_fused_form_gives_the_models_answers_on_real_images(loaded, real_inputs, reference):
    model, form = _optimised(loaded)
    assert form == (FUSED if fast_forward._fused_ops_available() else FOLDED)
    if form == FUSED:
        assert any(isinstance(m, FusedConv) for m in model.modules())
        assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    _assert_same_answers(_outputs(loaded, model, real_inputs), reference)


def test_batch_one_gives_the_same_answers(loaded, real_inputs, reference):
    """The packed weights are laid out for batch 1; batches of 8 above, one image at a time here."""
    model, _ = _optimised(loaded)
    ours = _outputs(loaded, model, real_inputs[:8], batch=1)
    _assert_same_answers(ours, tuple(r[:8] for r in reference[:3]) + (reference[3][:8],))


def test_the_fallback_without_fused_ops_gives_the_models_answers(loaded, real_inputs, reference, monkeypatch):
    monkeypatch.setattr(fast_forward, "_fused_ops_available", lambda: False)
    model, form = _optimised(loaded)
    assert form == FOLDED and not any(isinstance(m, FusedConv) for m in model.modules())
    _assert_same_answers(_outputs(loaded, model, real_inputs[:8]), tuple(r[:8] for r in reference[:3])
                         + (reference[3][:8],))


def test_a_fused_op_that_fails_at_load_leaves_the_folded_model(loaded, real_inputs, reference, monkeypatch):
    def refuse(self, x, residual=None):
        raise RuntimeError("no such oneDNN primitive here")

    monkeypatch.setattr(fast_forward, "_fused_ops_available", lambda: True)
    monkeypatch.setattr(FusedConv, "forward", refuse)
    model, form = _optimised(loaded)
    assert form == FOLDED and not any(isinstance(m, FusedConv) for m in model.modules())
    monkeypatch.undo()
    _assert_same_answers(_outputs(loaded, model, real_inputs[:8]), tuple(r[:8] for r in reference[:3])
                         + (reference[3][:8],))


@pytest.mark.slow
@pytest.mark.parametrize("method", [m for m in CAM_METHODS if m != "gradcam"])
def test_every_cam_method_gives_the_same_maps(loaded, real_inputs, method):
    model, _ = _optimised(loaded)
    expected = _outputs(loaded, loaded.model, real_inputs[:8], method)
    _assert_same_answers(_outputs(loaded, model, real_inputs[:8], method), expected)


def test_layer_names_still_resolve_and_training_is_refused(loaded):
    model, _ = _optimised(loaded)
    config = loaded.config
    assert model.get_submodule(config.cam_target_layer) is model.stages[8]
    assert model.ood_layer == config.ood.layer == "stages.7"
    with pytest.raises(RuntimeError, match="inference"):
        model.train()
    model.eval()  # still allowed


@pytest.mark.slow
def test_an_adapted_model_keeps_its_own_ood_stage(loaded, real_inputs):
    """A `cxr adapt` model: the OOD descriptor comes from a frozen copy of the tapped stage."""
    adapted = copy.deepcopy(loaded.model)
    adapted.freeze_ood_stage()
    with torch.no_grad():  # the retrained stage moves away from the frozen copy
        for parameter in adapted.stages[adapted.ood_tap].parameters():
            parameter.mul_(1.01)
    model = copy.deepcopy(adapted)
    assert optimise_for_inference(model, loaded.config.input_size, ("stages.8", "stages.7")) != NONE
    with torch.inference_mode():
        logits, features = model.forward_with_features(real_inputs[:8])
        ref_logits, ref_features = adapted.forward_with_features(real_inputs[:8])
    np.testing.assert_allclose(loaded.ood.score(features), loaded.ood.score(ref_features), rtol=OOD_RELATIVE)
    probabilities, ref_probabilities = (torch.softmax(t / loaded.config.temperature, 1) for t in (logits, ref_logits))
    assert (probabilities - ref_probabilities).abs().max() < MAX_PROBABILITY_DIFFERENCE


def test_other_models_and_deep_layer_names_are_left_as_loaded(loaded, random_model_dir):
    simple = Predictor.from_dir(random_model_dir, device="cpu").model  # simple_cnn: never measured
    assert optimise_for_inference(simple, 224, ("stages.3",)) == NONE
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in simple.modules())
    model = copy.deepcopy(loaded.model)
    assert optimise_for_inference(model, 224, ("stages.8.0",)) == NONE  # one conv: its output would change
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert fast_forward.supported(model, ("stages.8", "stages.7", "stages.6.1"))  # stages and blocks keep theirs


def test_the_engine_runs_the_fast_form_with_the_models_answers(monkeypatch, cxr3_paths, chest_dicom):
    monkeypatch.setenv(ENGINE_ENV, "torch")  # the PyTorch path (the ONNX one: test_onnx_runtime.py)
    engine = InferenceEngine.load(bundled_model_dir(), device="cpu")
    monkeypatch.setenv(FAST_FORWARD_ENV, "0")
    as_loaded = InferenceEngine.load(bundled_model_dir(), device="cpu")
    assert engine.info.forward_form in (FUSED, FOLDED) and as_loaded.info.forward_form == NONE
    images = [load_image(p) for p in cxr3_paths[:3]] + [chest_dicom]
    for cam in (True, False):
        requests = [InferenceRequest(i, image=image, cam=cam) for i, image in enumerate(images)]
        for ours, expected in zip(engine.run_many(requests, images), as_loaded.run_many(requests, images)):
            assert ours.label == expected.label and ours.ood_flag == expected.ood_flag
            assert max(abs(ours.probabilities[k] - p) for k, p in expected.probabilities.items()) < 1e-3
            assert ours.ood_score == pytest.approx(expected.ood_score, rel=OOD_RELATIVE)
            if cam:  # at full resolution, the lung mass inside too
                assert np.corrcoef(ours.cam.ravel(), expected.cam.ravel())[0, 1] > MIN_CAM_CORRELATION
                assert ours.lungs.cam_in_lungs == pytest.approx(expected.lungs.cam_in_lungs, abs=1e-3)
