"""ImageNet weight mapping, temperature scaling and the Mahalanobis OOD score."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from cxrviewer.model.architectures import ARCHITECTURES, UnknownArchitectureError, build_model, imagenet_weights_path
from cxrviewer.model.calibration import expected_calibration_error, fit_temperature
from cxrviewer.model.ood import MahalanobisOOD, threshold_from_scores
from cxrviewer.model.weights import WeightsMismatchError, load_imagenet, load_pretrained, read_state_file


def test_lite0_imagenet_weights_map_onto_our_stages():
    model = build_model("efficientnet_lite0", 3)
    assert load_imagenet(model)
    source = read_state_file(imagenet_weights_path("efficientnet_lite0"))
    torch.testing.assert_close(model.stages[0][0].weight, source["_conv_stem.weight"])
    torch.testing.assert_close(model.stages[8][0].weight, source["_conv_head.weight"])
    assert model.classifier.out_features == 3  # ImageNet head dropped, ours kept


def test_mismatched_weights_are_refused_with_the_reason(tmp_path):
    path = tmp_path / "resnet.safetensors"
    save_file({k: v.contiguous() for k, v in build_model("resnet18", 2).state_dict().items()}, str(path))
    lite = build_model("efficientnet_lite0", 2)
    with pytest.raises(WeightsMismatchError, match="backbone tensors"):
        load_pretrained(lite, path)


def test_own_checkpoint_loads_into_new_class_count(tmp_path):
    source = build_model("simple_cnn", 4)
    path = tmp_path / "cnn.safetensors"
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, str(path))
    target = build_model("simple_cnn", 2)
    load_pretrained(target, path)
    torch.testing.assert_close(target.stages[0][0].weight, source.stages[0][0].weight)


def test_pickled_files_are_not_unpickled(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"model": object()}, path)  # an arbitrary object needs unpickling
    with pytest.raises(WeightsMismatchError, match="not a plain tensor state dict"):
        read_state_file(path)


def test_unknown_architecture_lists_the_known_ones():
    with pytest.raises(UnknownArchitectureError, match="simple_cnn"):
        build_model("alexnet", 3)
    assert {"efficientnet_lite0", "densenet121", "resnet50", "vgg16", "efficientnet_b1"} <= set(ARCHITECTURES)


def test_temperature_recovers_a_known_overconfidence():
    torch.manual_seed(0)
    true_logits = torch.randn(4000, 3) * 2
    labels = torch.distributions.Categorical(logits=true_logits).sample()
    fitted = fit_temperature(true_logits * 3.0, labels)  # the model is 3x too sharp
    assert fitted == pytest.approx(3.0, rel=0.1)
    before = expected_calibration_error(torch.softmax(true_logits * 3, 1), labels)
    after = expected_calibration_error(torch.softmax(true_logits * 3 / fitted, 1), labels)
    assert after < before / 2


def test_mahalanobis_flags_far_points_and_keeps_near_ones():
    rng = np.random.default_rng(0)
    means = np.array([[0.0] * 8, [3.0] * 8])
    labels = rng.integers(0, 2, 2000)
    features = means[labels] + rng.normal(0, 1, (2000, 8))
    ood = MahalanobisOOD.fit(features, labels, 2)
    inside = ood.score(torch.from_numpy(means[labels[:500]] + rng.normal(0, 1, (500, 8)))).numpy()
    threshold = threshold_from_scores(inside, 0.99)
    far = ood.score(torch.from_numpy(rng.normal(15, 1, (50, 8)))).numpy()
    assert (far > threshold).all()
    assert (inside <= threshold).mean() >= 0.99
    restored = MahalanobisOOD.from_tensors(ood.tensors())
    torch.testing.assert_close(restored.score(torch.zeros(1, 8)), ood.score(torch.zeros(1, 8)))


def test_a_model_directory_is_a_start_point_without_its_detector():
    """`cxr train --weights DIR`: the network of a model directory, also into its output-stride-16
    variant (same tensors); the OOD detector's tensors are left for training to refit."""
    from cxrviewer.model.model_dir import read_model_dir
    from cxrviewer.resources import bundled_model_dir

    contents = read_model_dir(bundled_model_dir())
    arch = contents.config.architecture.removesuffix("_os16")
    for name in (arch, f"{arch}_os16"):
        model = build_model(name, len(contents.config.labels))
        load_pretrained(model, bundled_model_dir())
        for key, tensor in model.state_dict().items():
            assert torch.equal(tensor, contents.state_dict[key]), (name, key)
    assert any(key.startswith("ood.") for key in read_state_file(bundled_model_dir()))
