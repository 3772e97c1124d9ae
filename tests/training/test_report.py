"""training.report: PNG plots and summary.md from an evaluation result."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training import metrics, report

NAMES = ("normal", "pneumonia", "covid")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _results(labels, probs, source, age_group) -> dict:
    results = metrics.classification_metrics(labels, probs, NAMES)
    results["ood_fraction"] = 0.0
    results["failed"] = [{"path": "images/missing.jpg", "reason": "missing.jpg: file not found"}]
    results["breakdown"] = metrics.subgroup_metrics(labels, probs, NAMES,
                                                    {"source": source, "age_group": age_group})
    results["meta"] = {"model_name": "tiny", "model_version": "0", "split": "test",
                       "data_sha256": "ab" * 32}
    return results


@pytest.fixture()
def example():
    labels = np.array([0, 0, 1, 1, 2, 2])
    probs = np.array([[0.8, 0.1, 0.1], [0.3, 0.6, 0.1], [0.2, 0.7, 0.1],
                      [0.1, 0.8, 0.1], [0.1, 0.2, 0.7], [0.5, 0.1, 0.4]])
    source = ["kermany", "kermany", "kermany", "nih", "cdb", "cdb"]
    age_group = ["pediatric", "pediatric", "pediatric", "adult", "adult", "adult"]
    return labels, probs, _results(labels, probs, source, age_group)


def test_report_writes_valid_pngs_and_summary(tmp_path: Path, example):
    labels, probs, results = example
    out = tmp_path / "report" / "nested"
    written = report.write_report(out, results, labels, probs, NAMES)
    names = sorted(p.name for p in written)
    assert names == ["confusion_matrix.png", "reliability.png", "roc.png", "summary.md"]
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == PNG_SIGNATURE
        with Image.open(png) as im:
            im.verify()  # raises on a corrupt PNG
        with Image.open(png) as im:
            assert im.width >= 300 and im.height >= 300
    assert sorted(p.name for p in out.iterdir()) == names  # no temp files left behind


def test_summary_has_tables_and_disclaimer(tmp_path: Path, example):
    labels, probs, results = example
    report.write_report(tmp_path, results, labels, probs, NAMES)
    text = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "not for diagnosis" in text
    for heading in ("## Overall", "## Per class", "## Per source", "## Per age_group"):
        assert heading in text
    # One row per source value, one per age group, one per class.
    for cell in ("| kermany |", "| nih |", "| cdb |", "| pediatric |", "| adult |", "| covid |"):
        assert cell in text
    # nih holds one image of one class: its macro AUC is undefined and shown as n/a.
    nih_row = next(line for line in text.splitlines() if line.startswith("| nih |"))
    assert nih_row.split("|")[5].strip() == "n/a"
    # Overall accuracy 4/6 (images 2 and 6 are wrong) printed with 3 decimals.
    assert "| 6 | 0.667 |" in text


def test_report_handles_a_class_without_roc(tmp_path: Path):
    labels = np.array([0, 0, 1])  # no covid: its ROC curve is undefined and skipped
    probs = np.array([[0.9, 0.05, 0.05], [0.4, 0.5, 0.1], [0.2, 0.7, 0.1]])
    results = _results(labels, probs, ["a"] * 3, ["adult"] * 3)
    written = report.write_report(tmp_path, results, labels, probs, NAMES)
    assert all(p.stat().st_size > 0 for p in written)


def test_write_atomic_keeps_the_old_file_when_the_replace_fails(tmp_path: Path, monkeypatch):
    target = tmp_path / "summary.md"
    target.write_text("old")

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        report.write_atomic(target, b"new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.md"]


def test_text_summary_lists_overall_and_classes(example):
    _, _, results = example
    text = report.text_summary(results)
    assert text.splitlines()[1].split() == ["accuracy", "0.667"]
    assert "failed       1" in text
    class_rows = [line.split()[0] for line in text.splitlines()[9:12]]
    assert class_rows == list(NAMES)
    # Per source: kermany holds images 1-3, of which 2 are right.
    kermany = next(line for line in text.splitlines() if line.startswith("kermany "))
    assert kermany.split()[:3] == ["kermany", "3", "0.667"]
    assert any(line.startswith("age_group ") for line in text.splitlines())
