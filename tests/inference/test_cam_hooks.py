"""The CAM capture hook never outlives the call, and CAM leaves the model untouched."""

from __future__ import annotations

import pytest
import torch

from cxrviewer.model.architectures import build_model
from cxrviewer.model.cam import compute_cam
from cxrviewer.model.cam_hooks import capture_layer


def _hook_count(model: torch.nn.Module) -> int:
    return sum(
        len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) + len(m._backward_pre_hooks)
        for m in model.modules()
    )


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("simple_cnn", 3).eval()


@pytest.fixture(scope="module")
def chest_input(chest_image) -> torch.Tensor:
    from cxrviewer.model.preprocess import PreprocessConfig, preprocess

    return torch.from_numpy(preprocess(chest_image, PreprocessConfig()).array[None])


def test_hooks_are_removed_after_use(model, chest_input):
    compute_cam(model, chest_input, model.cam_target_layer)
    assert _hook_count(model) == 0


def test_hooks_are_removed_when_the_target_is_invalid(model, chest_input):
    with pytest.raises(ValueError, match="out of range"):
        compute_cam(model, chest_input, model.cam_target_layer, targets=7)
    assert _hook_count(model) == 0


def test_hooks_are_removed_when_the_forward_pass_raises(model):
    wrong_channels = torch.zeros(1, 3, 64, 64)  # simple_cnn takes one channel
    with pytest.raises(RuntimeError):
        compute_cam(model, wrong_channels, model.cam_target_layer)
    assert _hook_count(model) == 0


def test_hook_is_live_inside_the_context_and_gone_after(model, chest_input):
    layer = model.get_submodule(model.cam_target_layer)
    with pytest.raises(KeyError), capture_layer(layer) as capture:
        assert len(layer._forward_hooks) == 1
        model(chest_input)
        assert capture.activation is not None and capture.activation.requires_grad
        raise KeyError("user code failed inside the block")
    assert len(layer._forward_hooks) == 0


def test_cam_writes_no_parameter_gradients_and_keeps_eval_mode(model, chest_input):
    compute_cam(model, chest_input, model.cam_target_layer, method="gradcam++")
    assert all(p.grad is None for p in model.parameters())
    assert not model.training


def test_training_mode_model_is_refused(chest_input):
    model = build_model("simple_cnn", 3).train()
    with pytest.raises(ValueError, match="eval mode"):
        compute_cam(model, chest_input, model.cam_target_layer)
    assert _hook_count(model) == 0


def test_unknown_layer_and_method_are_refused(model, chest_input):
    with pytest.raises(ValueError, match="no layer"):
        compute_cam(model, chest_input, "stages.99")
    with pytest.raises(ValueError, match="unknown CAM method"):
        compute_cam(model, chest_input, model.cam_target_layer, method="scorecam")
