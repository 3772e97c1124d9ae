"""Our CAMs against the pytorch_grad_cam reference: same model, layer, input and class."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from pytorch_grad_cam import GradCAM, GradCAMPlusPlus, HiResCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from cxrviewer.model.architectures import build_model
from cxrviewer.model.cam import compute_cam
from cxrviewer.model.preprocess import PreprocessConfig, preprocess
from cxrviewer.model.weights import load_imagenet

REFERENCE = {"gradcam": GradCAM, "gradcam++": GradCAMPlusPlus, "hirescam": HiResCAM}
MIN_CORRELATION = 0.99


@functools.cache  # building and loading Lite0 costs seconds on a shared CPU; CAM leaves it unchanged
def _lite0(init: str) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_model("efficientnet_lite0", 3)
    if init == "imagenet" and not load_imagenet(model):
        pytest.fail("efficientnet-lite0 ImageNet weights are a runtime dependency but are not installed")
    return model.eval()


@pytest.fixture(scope="module", params=["random", "imagenet"])
def lite0(request) -> torch.nn.Module:
    return _lite0(request.param)


@pytest.fixture(scope="module")
def chest_batch(chest_image, chest_dicom) -> torch.Tensor:
    """Two real chest X-rays (a PNG and a DICOM) as a model batch."""
    config = PreprocessConfig()
    return torch.from_numpy(np.stack([preprocess(im, config).array for im in (chest_image, chest_dicom)]))


def _reference_maps(model, layer_name, inputs, method, classes) -> np.ndarray:
    with REFERENCE[method](model=model, target_layers=[model.get_submodule(layer_name)]) as cam:
        return cam(input_tensor=inputs, targets=[ClassifierOutputTarget(c) for c in classes])


@pytest.mark.parametrize("method", list(REFERENCE))
def test_maps_match_pytorch_grad_cam(lite0, chest_batch, method):
    ours = compute_cam(lite0, chest_batch, lite0.cam_target_layer, method)
    reference = _reference_maps(lite0, lite0.cam_target_layer, chest_batch, method, ours.class_indices)
    assert ours.maps.shape == reference.shape == (2, 224, 224)
    for mine, theirs in zip(ours.maps, reference):
        assert mine.std() > 0.01, "a flat map would make the comparison meaningless"
        assert np.corrcoef(mine.ravel(), theirs.ravel())[0, 1] >= MIN_CORRELATION


def test_each_class_gets_its_own_map(chest_batch):
    model = _lite0("imagenet")
    maps = [compute_cam(model, chest_batch[:1], model.cam_target_layer, targets=c).maps[0] for c in range(3)]
    reference = _reference_maps(model, model.cam_target_layer, chest_batch[:1], "gradcam", [2])[0]
    assert np.corrcoef(maps[2].ravel(), reference.ravel())[0, 1] >= MIN_CORRELATION
    assert np.corrcoef(maps[0].ravel(), maps[2].ravel())[0, 1] < MIN_CORRELATION


def test_default_target_is_the_predicted_class(chest_batch):
    model = _lite0("random")
    result = compute_cam(model, chest_batch, model.cam_target_layer)
    with torch.inference_mode():
        predicted = model(chest_batch).argmax(dim=1).tolist()
    assert list(result.class_indices) == predicted
    assert result.maps.dtype == np.float32
    # Min-max scaled on the 7 x 7 grid; bilinear upsampling puts pixel centres
    # between grid centres, so the peak pixel is just under 1.
    assert result.maps.min() == 0.0 and 0.95 <= result.maps.max() <= 1.0


@pytest.mark.parametrize("method", list(REFERENCE))
def test_uniform_gradient_form_equals_the_formulas_on_a_real_activation(lite0, chest_batch, method):
    """The ONNX graph's closed form (one gradient per channel) gives raw_cam's maps for every class."""
    from cxrviewer.model.cam_methods import raw_cam, raw_cam_uniform_gradient

    with torch.no_grad():
        activation = lite0.forward_stages(chest_batch)
    n, k, h, w = activation.shape
    class_grads = torch.randn(3, k, generator=torch.Generator().manual_seed(1)) / (h * w)
    class_grads[0, :5] = 0  # Grad-CAM++'s alpha is zero where the gradient is
    fast = raw_cam_uniform_gradient(method, activation, class_grads)
    for c in range(3):
        full = raw_cam(method, activation, class_grads[c][None, :, None, None].expand(n, k, h, w))
        torch.testing.assert_close(fast[:, c], full, rtol=1e-4, atol=1e-5 * float(full.abs().max()))
