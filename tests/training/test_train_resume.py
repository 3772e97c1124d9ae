"""`cxr train` end to end on generated data, and --resume continuing after a kill."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from cxrviewer.cli.main import main as cxr_main
from cxrviewer.model.predictor import Predictor
from training.checkpoint import BEST_NAME, CHECKPOINT_NAME, load_checkpoint
from training.synthetic import make_dataset

TINY = ["--preset", "tiny", "--img-size", "32", "--batch-size", "8", "--no-progress", "--seed", "7"]


@pytest.fixture(scope="module")
def data_csv(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("data"), per_class=16, size=40, with_split=True)


def _train(data_csv, out, *extra):
    return cxr_main(["train", "--data", str(data_csv), "--out", str(out), *TINY, *extra])


def test_train_exports_a_loadable_model_dir(data_csv, tmp_path):
    out = tmp_path / "run"
    assert _train(data_csv, out, "--epochs", "3", "--labels", "normal,pneumonia,covid", "--report-test") == 0
    predictor = Predictor.from_dir(out / "model", device="cpu")
    assert predictor.labels == ("normal", "pneumonia", "covid")
    config = json.loads((out / "model" / "model.json").read_text())
    training = config["training"]
    assert training["manifest_sha256"] and training["git_commit"]
    assert training["options"]["arch"] == "simple_cnn" and training["epochs_run"] == 3
    assert "val" in training["metrics"] and training["metrics"]["val"]["n"] == 12
    card = (out / "model" / "MODEL_CARD.md").read_text()
    assert "not for diagnosis" in card.lower() or "must not be\nused for diagnosis" in card
    assert "--preset tiny" in card  # the exact command
    assert "By `source`" in card
    assert (out / "train.log").read_text().count("epoch 3:") == 1
    # ... with its ONNX graph, which gives the model's answers (tests/inference/test_onnx_runtime.py: the bundled one)
    from cxrviewer.model.onnx_runtime import OnnxPredictor

    assert "model.onnx" in config["files"]
    size = predictor.config.input_size
    batch = np.random.default_rng(0).random((3, 1, size, size), dtype=np.float32)
    for ours, theirs in zip(OnnxPredictor.from_dir(out / "model").predict_arrays(batch), predictor.predict_arrays(batch)):
        assert ours.label == theirs.label and ours.ood_score == pytest.approx(theirs.ood_score, rel=1e-4)
    # The card can be re-rendered later with notes, and the directory stays verified.
    from training.card import main as card_main

    assert card_main([str(out / "model"), "--note", "Reweighting moved the operating point."]) == 0
    assert "- Reweighting moved the operating point." in (out / "model" / "MODEL_CARD.md").read_text()
    Predictor.from_dir(out / "model", device="cpu")


def test_resume_continues_at_the_next_epoch_with_the_same_state(data_csv, tmp_path):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert _train(data_csv, straight, "--epochs", "3") == 0
    # Interrupted after epoch 2 (as a kill would leave it): checkpoint kept, nothing exported.
    assert _train(data_csv, resumed, "--epochs", "3", "--stop-after-epoch", "2") == 0
    assert load_checkpoint(resumed / CHECKPOINT_NAME)["epoch"] == 2
    assert not (resumed / "model").exists()
    assert _train(data_csv, resumed, "--epochs", "3", "--resume") == 0
    a, b = load_checkpoint(straight / CHECKPOINT_NAME), load_checkpoint(resumed / CHECKPOINT_NAME)
    assert a["epoch"] == b["epoch"] == 3
    assert [h["epoch"] for h in b["history"]] == [1, 2, 3]
    for key, tensor in a["model"].items():
        torch.testing.assert_close(tensor, b["model"][key], msg=f"{key} differs after resume")
    assert a["optimizer"]["state"].keys() == b["optimizer"]["state"].keys()
    assert load_checkpoint(resumed / BEST_NAME)["epoch"] == b["best_epoch"]


def test_resume_refuses_another_architecture(data_csv, tmp_path):
    out = tmp_path / "run"
    assert _train(data_csv, out, "--epochs", "1") == 0
    code = _train(data_csv, out, "--epochs", "2", "--resume", "--arch", "resnet18", "--weights", "none")
    assert code == 2


def test_cached_features_path_trains(data_csv, tmp_path):
    out = tmp_path / "cached"
    code = _train(data_csv, out, "--epochs", "2", "--freeze-stages", "2", "--cache-features", "--cache-views", "2")
    assert code == 0
    views = sorted(v.name for v in (out / "cache").rglob("view*.npy"))
    assert views == ["view0-stage2.npy", "view0-stage2.npy", "view1-stage2.npy"]  # val 1 view, train 2
    Predictor.from_dir(out / "model", device="cpu")


def test_deeper_cache_is_derived_from_an_earlier_one(data_csv, tmp_path):
    direct, derived = tmp_path / "direct", tmp_path / "derived"
    common = ["--epochs", "1", "--freeze-stages", "3", "--cache-features", "--cache-views", "2"]
    assert _train(data_csv, tmp_path / "a", *common, "--cache-stages", "3", "--cache-dir", str(direct)) == 0
    prepare_only = ["--stop-after-epoch", "0"]  # caches built, no epochs, nothing exported
    assert _train(data_csv, tmp_path / "b", *common, "--cache-stages", "1", "--cache-dir", str(derived), *prepare_only) == 0
    assert not (tmp_path / "b" / "checkpoint.pt").exists()
    assert _train(data_csv, tmp_path / "c", *common, "--cache-stages", "3", "--cache-dir", str(derived)) == 0
    assert "cached view 1 after 3 stages" in (tmp_path / "c" / "train.log").read_text()
    for a in sorted(direct.rglob("view*-stage3.npy")):
        b = derived / a.parent.name / a.name
        np.testing.assert_allclose(np.load(a), np.load(b), atol=2e-2, rtol=1e-2)  # float16 storage


def test_reweighting_by_a_column_trains(data_csv, tmp_path):
    assert _train(data_csv, tmp_path / "rw", "--epochs", "1", "--reweight-by", "source") == 0
    assert "reweighting by source" in (tmp_path / "rw" / "train.log").read_text()
    assert _train(data_csv, tmp_path / "rw2", "--epochs", "1", "--reweight-by", "hospital") == 2


def test_cache_needs_frozen_stages(data_csv, tmp_path):
    assert _train(data_csv, tmp_path / "x", "--cache-features") == 2
