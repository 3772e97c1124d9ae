"""cxrviewer/model/efficientnet_lite.py against timm's efficientnet_lite (skipped where timm is not installed).

The viewer and `cxr predict` build EfficientNet-Lite without timm (its import costs about
1 s); these tests hold the two builds to the same state dict, the same seeded start
weights and the same readings of real images by the shipped model.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from cxrviewer.io import load_image
from cxrviewer.model.architectures import CxrClassifier, _timm_efficientnet, build_model, get_spec
from cxrviewer.model.efficientnet_lite import efficientnet_lite
from cxrviewer.model.model_dir import read_model_dir
from cxrviewer.model.ood import MahalanobisOOD
from cxrviewer.model.predictor import Predictor
from cxrviewer.resources import bundled_model_dir

timm = pytest.importorskip("timm")
LITES = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")


@pytest.mark.parametrize("name", LITES)
def test_same_state_dict_and_seeded_start_weights_as_timm(name):
    torch.manual_seed(0)
    reference = timm.create_model(name, pretrained=False, num_classes=0)
    after_reference = torch.rand(1)
    torch.manual_seed(0)
    ours = efficientnet_lite(name)
    after_ours = torch.rand(1)
    theirs, mine = reference.state_dict(), ours.state_dict()
    assert list(mine) == list(theirs)  # same names, same order: shipped weights load as they are
    for key, tensor in theirs.items():
        assert torch.equal(mine[key], tensor), key
    assert torch.equal(after_ours, after_reference)  # the same random numbers drawn: training runs repeat
    assert ours.num_features == reference.num_features


@pytest.mark.parametrize("output_stride", [32, 16])
@pytest.mark.parametrize("name", LITES)
def test_same_features_as_timm_for_the_same_weights(name, output_stride):
    reference = timm.create_model(name, pretrained=False, num_classes=0, output_stride=output_stride).eval()
    ours = efficientnet_lite(name, init=False, output_stride=output_stride).eval()
    ours.load_state_dict(reference.state_dict(), strict=True)
    x = torch.rand(2, 3, 96, 96)
    with torch.no_grad():
        assert torch.equal(ours(x), reference.forward_features(x))


def test_output_stride_16_is_the_same_network_on_a_finer_grid():
    """The _os16 variant loads the stride-32 weights as they are, and its stage-6 features on the even
    positions are the stride-32 features (the atrous trick): a stride-32 model keeps its readings."""
    coarse = build_model("efficientnet_lite0", 3).eval()
    fine = build_model("efficientnet_lite0_os16", 3, init=False).eval()
    fine.load_state_dict(coarse.state_dict(), strict=True)
    x = torch.rand(2, 1, 224, 224)
    with torch.no_grad():
        a, b = coarse.forward_stages(x, 0, 7), fine.forward_stages(x, 0, 7)
        assert a.shape[-2:] == (7, 7) and b.shape[-2:] == (14, 14)
        torch.testing.assert_close(b[:, :, ::2, ::2], a, atol=1e-4, rtol=1e-4)
        assert fine.forward_stages(x).shape[-2:] == (14, 14)  # the Grad-CAM layer


def test_a_skipped_init_still_loads_strictly_into_every_tensor():
    model = build_model("efficientnet_lite0", 3, init=False)
    donor = build_model("efficientnet_lite0", 3)
    model.load_state_dict(donor.state_dict(), strict=True)
    for key, tensor in donor.state_dict().items():
        assert torch.equal(model.state_dict()[key], tensor), key


def _timm_predictor(model_dir) -> Predictor:
    """The shipped model built with timm's backbone, loaded as Predictor.from_dir loads it."""
    contents = read_model_dir(model_dir)
    config = contents.config
    # timm has no _os16 names: its efficientnet_liteN takes output_stride as an argument
    name, _, stride = config.architecture.partition("_os")
    spec = dataclasses.replace(get_spec(config.architecture), build_stages=_timm_efficientnet(name, int(stride or 32)),
                               skips_init=False)
    model = CxrClassifier(spec, len(config.labels))
    model.set_ood_layer(config.ood.layer)
    model.load_state_dict(contents.state_dict, strict=True)
    return Predictor(model, config, MahalanobisOOD.from_tensors(contents.extra_tensors), torch.device("cpu"))


@pytest.mark.slow  # both builds of the shipped model read eight real images
@pytest.mark.skipif(not (bundled_model_dir() / "model.json").is_file(), reason="no bundled model installed")
def test_the_shipped_model_reads_real_images_as_with_timm(dicom_dir, samples_dir, cxr3_dir):
    ours = Predictor.from_dir(bundled_model_dir(), device="cpu")
    theirs = _timm_predictor(bundled_model_dir())
    assert set(ours.model.state_dict()) == set(theirs.model.state_dict())
    assert type(theirs.model.stages[1][0]).__module__.startswith("timm.")  # the reference really is timm's
    paths = [*sorted(dicom_dir.glob("chest_*.dcm")), *sorted(samples_dir.glob("*.png"))[:2],
             *sorted((cxr3_dir / "images").rglob("*.jpg"))[:3]]
    assert len(paths) >= 5
    images = [load_image(p) for p in paths]
    batch = np.stack([ours.preprocess(image).array for image in images])
    mine, reference = ours.predict_arrays(batch), theirs.predict_arrays(batch)
    for a, b in zip(mine, reference):
        assert a.label == b.label and a.ood_flag == b.ood_flag
        assert max(abs(a.probabilities[k] - b.probabilities[k]) for k in a.probabilities) < 1e-6
        assert a.ood_score == pytest.approx(b.ood_score, rel=1e-6, abs=1e-5)


def test_the_lung_model_reads_its_encoder_widths_without_a_forward_pass():
    from cxrviewer.model.lung_net import LungUNet

    net = LungUNet(init=False)
    with torch.no_grad():
        x, widths = net.adapter(torch.zeros(1, 1, 64, 64)), []
        for stage in net.stages:
            x = stage(x)
            widths.append(x.shape[1])
    assert net._stage_channels() == widths == [32, 16, 24, 40, 80, 112]
