"""The bundled classifier on the whole cxr3 `test` split: the README's headline numbers still hold.

Needs the full data sets (1,203 test images; the fixture set has 44), so it asks for
``full_data`` and skips without them. It runs the README's own command.
"""

from __future__ import annotations

import json

import pytest

from cxrviewer.cli.main import main as cxr_main

# The model reads 1,203 images: about 85 s on one thread (slow: tests/slow_tests.py).
pytestmark = pytest.mark.timeout(900)

# README "The bundled model": macro-F1 0.939, macro ROC-AUC 0.989, ECE 0.015, 0.7 % flagged.
# The run is deterministic on the CPU; the margins only absorb float noise across machines.
README = {"macro_f1": 0.939, "macro_auc": 0.989}


def test_the_bundled_model_keeps_its_readme_numbers_on_the_test_split(full_data, one_torch_thread, tmp_path, capsys):
    out = tmp_path / "metrics.json"
    code = cxr_main(["evaluate", "--data", str(full_data / "cxr3" / "labels.csv"), "--split", "test",
                     "--json", str(out), "--device", "cpu"])
    assert code == 0, capsys.readouterr().err
    metrics = json.loads(out.read_text())
    assert metrics["n"] == 1203 and not metrics["failed"]
    for name, value in README.items():
        assert metrics[name] == pytest.approx(value, abs=0.003), name
    assert metrics["ece"] < 0.03 and metrics["ood_fraction"] < 0.02
