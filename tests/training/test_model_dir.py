"""Model directories: round trip through the Predictor, and refusing anything tampered."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from cxrviewer.io import load_image
from cxrviewer.model.architectures import build_model
from cxrviewer.model.config import CARD_FILE, CONFIG_FILE, WEIGHTS_FILE
from cxrviewer.model.errors import ModelDirError, ModelFileMissingError, ModelFormatError, ModelIntegrityError
from cxrviewer.model.export import create_random_model_dir
from cxrviewer.model.predictor import Predictor


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return create_random_model_dir(tmp_path_factory.mktemp("m") / "model", input_size=96, labels=("a", "b", "c"))


def test_round_trip_matches_the_model(model_dir, cxr3_dir):
    predictor = Predictor.from_dir(model_dir, device="cpu")
    assert predictor.labels == ("a", "b", "c") and predictor.device.type == "cpu"
    assert predictor.config.input_size == 96
    predictor.model.get_submodule(predictor.config.cam_target_layer)
    image = load_image(next((cxr3_dir / "images").rglob("*.jpg")))
    [prediction] = predictor.predict([image])
    assert sum(prediction.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert prediction.label == max(prediction.probabilities, key=prediction.probabilities.get)
    assert prediction.confidence == prediction.probabilities[prediction.label]
    # The same weights rebuilt by hand give the same calibrated probabilities.
    reference = build_model(predictor.config.architecture, 3).eval()
    reference.load_state_dict(predictor.model.state_dict())
    batch = predictor.preprocess(image).array[None]
    with torch.no_grad():
        logits = reference(torch.from_numpy(batch))
    expected = torch.softmax(logits / predictor.config.temperature, 1)[0].numpy()
    np.testing.assert_allclose([prediction.probabilities[k] for k in "abc"], expected, rtol=1e-4, atol=1e-6)
    assert np.isfinite(prediction.ood_score)
    assert prediction.ood_flag == (prediction.ood_score > predictor.config.ood.threshold)


def test_predict_arrays_checks_the_shape(model_dir):
    predictor = Predictor.from_dir(model_dir, device="cpu")
    with pytest.raises(ValueError, match=r"\(N, 1, 96, 96\)"):
        predictor.predict_arrays(np.zeros((2, 1, 64, 64), np.float32))


def test_ood_arrays_live_in_safetensors_not_json(model_dir):
    config = json.loads((model_dir / CONFIG_FILE).read_text())
    assert config["ood"]["tensors"] == ["ood.class_means", "ood.precision"]
    assert len((model_dir / CONFIG_FILE).read_text()) < 20_000
    assert config["format_version"] == 1 and config["labels"] == ["a", "b", "c"]


@pytest.fixture()
def copy(model_dir, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(model_dir, target)
    return target


def test_tampered_weights_are_refused(copy):
    data = bytearray((copy / WEIGHTS_FILE).read_bytes())
    data[-10] ^= 0xFF
    (copy / WEIGHTS_FILE).write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="sha256"):
        Predictor.from_dir(copy, device="cpu")


def test_edited_card_is_refused(copy):
    (copy / CARD_FILE).write_text("# my better model\n")
    with pytest.raises(ModelIntegrityError):
        Predictor.from_dir(copy, device="cpu")


@pytest.mark.parametrize(
    ("field", "value"),
    [(("ood", "threshold"), 1e30), (("temperature",), 0.01), (("labels",), ["c", "b", "a"]),
     (("preprocessing", "intensity"), "none")],
)
def test_edited_settings_in_model_json_are_refused(copy, field, value):
    # The weights' sha256 still matches: only the settings digest in the weights header can tell.
    config = json.loads((copy / CONFIG_FILE).read_text())
    *parents, leaf = field
    target = config
    for key in parents:
        target = target[key]
    target[leaf] = value
    (copy / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(ModelIntegrityError, match="changed after export"):
        Predictor.from_dir(copy, device="cpu")


def test_reformatted_model_json_still_loads(copy):
    # Whitespace and key order are not settings: a pretty-printer must not break a model.
    config = json.loads((copy / CONFIG_FILE).read_text())
    (copy / CONFIG_FILE).write_text(json.dumps(config, indent=7))
    Predictor.from_dir(copy, device="cpu")


def test_the_bundled_model_carries_its_settings_digest():
    from cxrviewer.model.model_dir import read_model_dir
    from cxrviewer.resources import bundled_model_dir

    read_model_dir(bundled_model_dir())  # raises if any file or setting was edited


def test_wrong_format_version_is_refused(copy):
    config = json.loads((copy / CONFIG_FILE).read_text())
    config["format_version"] = 99
    (copy / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(ModelFormatError, match="format version 99"):
        Predictor.from_dir(copy, device="cpu")


@pytest.mark.parametrize("name", [WEIGHTS_FILE, CONFIG_FILE, CARD_FILE])
def test_missing_file_is_refused(copy, name):
    (copy / name).unlink()
    with pytest.raises(ModelFileMissingError, match=name):
        Predictor.from_dir(copy, device="cpu")


def test_garbage_json_is_a_model_dir_error(copy):
    (copy / CONFIG_FILE).write_text("{not json")
    with pytest.raises(ModelDirError, match="not valid JSON"):
        Predictor.from_dir(copy, device="cpu")


def test_card_can_be_rewritten_and_stays_verified(copy):
    from cxrviewer.model.model_dir import rewrite_card

    rewrite_card(copy, "# new card\n")
    Predictor.from_dir(copy, device="cpu")
    assert (copy / CARD_FILE).read_text() == "# new card\n"
    (copy / CARD_FILE).write_text("# edited by hand\n")
    with pytest.raises(ModelIntegrityError):
        rewrite_card(copy, "# again\n")


def test_ood_descriptor_layer_travels_in_model_json(model_dir):
    predictor = Predictor.from_dir(model_dir, device="cpu")
    layer = predictor.config.ood.layer
    assert layer == predictor.model.ood_layer == "stages.2"  # simple_cnn: the stage before last
    channels = predictor.model.get_submodule(layer)[0].out_channels
    assert predictor.config.ood.feature_dim == 2 * channels  # mean and std per channel
    with torch.no_grad():
        _, descriptor = predictor.model.forward_with_features(torch.rand(2, 1, 96, 96))
    assert descriptor.shape == (2, 2 * channels)


def test_unknown_ood_layer_is_a_format_error(copy):
    import dataclasses

    from cxrviewer.model.model_dir import read_model_dir, save_model_dir

    # Exported that way (a hand edit of model.json would be refused as tampering first).
    contents = read_model_dir(copy)
    config = dataclasses.replace(contents.config, ood=dataclasses.replace(contents.config.ood, layer="stages.99"))
    save_model_dir(copy, contents.state_dict, config, contents.extra_tensors, (copy / CARD_FILE).read_text())
    with pytest.raises(ModelFormatError, match="stages.99"):
        Predictor.from_dir(copy, device="cpu")


def test_card_rerender_needs_a_training_record(copy, capsys):
    from training.card import main as card_main

    assert card_main([str(copy)]) == 2  # a random model has no run to describe
    assert "no training record" in capsys.readouterr().err
    assert card_main([str(copy / "missing")]) == 2


def test_model_dir_files_get_ordinary_permissions(tmp_path):
    # mkstemp-style 0600 files would make an exported model unreadable to other users.
    import os
    import stat

    old = os.umask(0o022)
    try:
        directory = create_random_model_dir(tmp_path / "model", input_size=96, labels=("a", "b"))
    finally:
        os.umask(old)
    for name in (WEIGHTS_FILE, CONFIG_FILE, CARD_FILE):
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o644, name
    assert sorted(p.name for p in directory.iterdir()) == sorted((WEIGHTS_FILE, CONFIG_FILE, CARD_FILE))


def test_temp_files_of_a_killed_writer_are_removed_by_the_next_write(tmp_path):
    """A writer killed mid-write leaves .NAME.PID-xxxx.tmp behind; the next write of NAME removes it,
    while a temp file of a writer that still runs (this process) is left alone."""
    import os
    import subprocess
    import sys

    from cxrviewer.atomic_files import atomic_write_bytes

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".model.json.{int(dead.stdout)}-abcdef.tmp"
    stale.write_bytes(b"x" * 1024)
    live = tmp_path / f".model.json.{os.getpid()}-123456.tmp"
    live.write_bytes(b"y")
    atomic_write_bytes(tmp_path / "model.json", b"{}")
    assert not stale.exists() and live.exists() and (tmp_path / "model.json").read_bytes() == b"{}"
