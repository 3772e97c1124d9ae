"""The cached frozen-stage feature maps: written atomically, by more than one run at a time (real NIH images)."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

from cxrviewer.io import load_image
from cxrviewer.model.predictor import Predictor
from training.distributed import DistInfo
from training.feature_cache import build_view

STAGES = 2


class Films(Dataset):
    """Preprocessed real films as the cache's loader expects them: (input, label, index); ``hook`` runs per item."""

    def __init__(self, inputs: np.ndarray, hook=None) -> None:
        self.inputs, self.hook = inputs, hook

    def set_epoch(self, view: int) -> None:
        pass

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, index: int):
        if self.hook is not None:
            self.hook(index)
        return torch.from_numpy(self.inputs[index]), 0, index


@pytest.fixture(scope="module")
def base(random_model_dir):
    return Predictor.from_dir(random_model_dir, device="cpu")


@pytest.fixture(scope="module")
def inputs(cxr3_dir, base) -> np.ndarray:
    with open(cxr3_dir / "labels.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["source"].startswith("nih")][:12]
    return np.stack([base.preprocess(load_image(cxr3_dir / r["path"])).array for r in rows]).astype(np.float32)


def build(folder, base, dataset):
    return build_view(folder, base.model, dataset, 0, STAGES, torch.device("cpu"), DistInfo(), 4, 0)


def partials(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".partial"))


def test_an_interrupted_build_leaves_no_file_and_the_next_one_completes(base, inputs, tmp_path):
    def interrupt(index):
        if index == 7:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build(tmp_path, base, Films(inputs, interrupt))
    assert list(tmp_path.iterdir()) == []  # neither the cache nor its partial file

    maps = build(tmp_path, base, Films(inputs))
    with torch.inference_mode():
        expected = base.model.forward_stages(torch.from_numpy(inputs), 0, STAGES).numpy()
    np.testing.assert_allclose(np.asarray(maps, np.float32), expected, rtol=0.01, atol=1e-3)  # float16, batching
    assert partials(tmp_path) == []


def test_two_runs_filling_one_cache_at_once_both_finish(base, inputs, tmp_path):
    """A second run builds the same view while the first is half-way (two `cxr adapt` runs, parallel benchmarks).

    Before, both wrote one fixed partial name: the second renamed it away and the first
    failed with FileNotFoundError (a benchmark's two parallel draws hit this).
    """
    reference = np.asarray(build(tmp_path / "alone", base, Films(inputs)), np.float32)
    shared = tmp_path / "shared"
    started = []

    def second_run(index):
        if index == 5 and not started:
            started.append(index)
            assert partials(shared)  # the first run's file is being filled
            build(shared, base, Films(inputs))

    first = build(shared, base, Films(inputs, second_run))
    assert started
    np.testing.assert_allclose(np.asarray(first, np.float32), reference, rtol=0.01, atol=1e-3)
    assert partials(shared) == []
