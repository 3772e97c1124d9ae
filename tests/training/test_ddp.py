"""The same command under torchrun with two gloo (CPU) processes."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from cxrviewer.model.predictor import Predictor
from training.checkpoint import CHECKPOINT_NAME, load_checkpoint
from training.synthetic import make_dataset


@pytest.mark.parametrize("extra", [[], ["--freeze-stages", "2", "--cache-features", "--cache-views", "2"]],
                         ids=["images", "cached-features"])
def test_torchrun_two_cpu_processes(tmp_path, extra):
    data = make_dataset(tmp_path / "data", per_class=12, size=40, with_split=True)
    out = tmp_path / "out"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        "-m", "training.train", "--data", str(data), "--out", str(out), "--preset", "tiny",
        "--img-size", "32", "--epochs", "2", "--no-progress", "--device", "cpu", *extra,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    checkpoint = load_checkpoint(out / CHECKPOINT_NAME)
    assert checkpoint["epoch"] == 2
    assert len(checkpoint["history"]) == 2
    Predictor.from_dir(out / "model", device="cpu")
    log = (out / "train.log").read_text()
    assert log.count("epoch 2:") == 1  # only rank 0 logs
    if extra:  # both ranks filled their half of every cached view: no all-zero row
        for path in (out / "cache").rglob("view*.npy"):
            maps = np.load(path)
            assert np.abs(maps).reshape(len(maps), -1).max(axis=1).min() > 0
