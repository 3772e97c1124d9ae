"""`cxr evaluate` end to end: a small random model directory on real cxr3 images."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from cxrviewer.cli.main import main as cxr_main

N_REAL = 12


@pytest.fixture(scope="module")
def random_model(tmp_path_factory) -> Path:
    from cxrviewer.model.export import create_random_model_dir

    # input_size 64 keeps the run light on a shared CPU.
    return create_random_model_dir(tmp_path_factory.mktemp("model") / "tiny", input_size=64)


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory, cxr3_dir: Path) -> Path:
    """12 real test images (4 per class, mixed sources), plus a missing and a corrupt file."""
    folder = tmp_path_factory.mktemp("data")
    with open(cxr3_dir / "labels.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"] == "test"]
    chosen = []
    for label in ("normal", "pneumonia", "covid"):
        of_label = [r for r in rows if r["label"] == label]
        chosen += of_label[:: len(of_label) // 4][:4]  # spread over the list, hence over sources
    for row in chosen:
        row["path"] = str(cxr3_dir / row["path"])  # absolute paths are accepted too
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 40)  # a JPEG header, no image
    extra = [{"path": "missing.jpg", "label": "normal", "split": "test", "source": "cdb_normal",
              "group": "x", "age_group": "adult", "subtype": ""},
             {"path": "corrupt.jpg", "label": "covid", "split": "test", "source": "cdb_covid",
              "group": "y", "age_group": "adult", "subtype": ""}]
    csv_path = folder / "small.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(chosen + extra)
    return csv_path


def test_cxr_evaluate_end_to_end(random_model: Path, small_csv: Path, tmp_path: Path, capsys):
    out, report_dir = tmp_path / "metrics.json", tmp_path / "report"
    code = cxr_main(["evaluate", "--model", str(random_model), "--data", str(small_csv), "--json", str(out),
                     "--report-dir", str(report_dir), "--batch-size", "5", "--device", "cpu"])
    captured = capsys.readouterr()
    assert code == 1, captured.err  # the missing and the corrupt file failed; the 12 others are evaluated
    assert "2 of 14 files could not be evaluated" in captured.err
    result = json.loads(out.read_text())
    assert list(result) == ["n", "accuracy", "macro_f1", "macro_auc", "ece", "ood_fraction", "per_class",
                            "confusion_matrix", "failed", "breakdown", "meta"]
    assert result["n"] == N_REAL
    assert sorted(f["path"] for f in result["failed"]) == ["corrupt.jpg", "missing.jpg"]
    assert all(f["reason"] for f in result["failed"])
    assert result["confusion_matrix"]["labels"] == ["normal", "pneumonia", "covid"]
    assert sum(map(sum, result["confusion_matrix"]["matrix"])) == N_REAL
    assert {name: c["support"] for name, c in result["per_class"].items()} == {
        "normal": 4, "pneumonia": 4, "covid": 4}
    assert set(result["breakdown"]) >= {"source", "age_group"}
    assert sum(g["n"] for g in result["breakdown"]["age_group"].values()) == N_REAL
    assert 0.0 <= result["ood_fraction"] <= 1.0
    assert len(result["meta"]["data_sha256"]) == 64 and result["meta"]["model_architecture"] == "simple_cnn"
    assert "2 of 14 files could not be evaluated" in captured.err
    assert "accuracy" in captured.out
    for png in ("confusion_matrix.png", "roc.png", "reliability.png"):
        with Image.open(report_dir / png) as im:
            im.verify()
    assert "not for diagnosis" in (report_dir / "summary.md").read_text()


def test_unknown_labels_exit_2(random_model: Path, tmp_path: Path, cxr3_dir: Path, capsys):
    image = next((cxr3_dir / "images" / "cdb_normal").glob("*.jpg"))
    csv_path = tmp_path / "tb.csv"
    csv_path.write_text(f"path,label\n{image},tuberculosis\n{image},normal\n")
    assert cxr_main(["evaluate", "--model", str(random_model), "--data", str(csv_path)]) == 2
    assert "labels the model does not know: tuberculosis" in capsys.readouterr().err


def test_broken_model_dir_exit_2(tmp_path: Path, small_csv: Path, capsys):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.json").write_text("{not json")
    assert cxr_main(["evaluate", "--model", str(broken), "--data", str(small_csv)]) == 2
    err = capsys.readouterr().err
    assert "cannot load the model" in err and "Traceback" not in err


def test_python_m_missing_model_dir(tmp_path: Path, small_csv: Path):
    proc = subprocess.run(
        [sys.executable, "-m", "training.evaluate", "--model", str(tmp_path / "nope"), "--data", str(small_csv)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert "model directory not found" in proc.stderr and "Traceback" not in proc.stderr


def test_an_unwritable_report_folder_is_refused_before_any_work(random_model: Path, small_csv: Path, tmp_path: Path,
                                                               capsys):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the report folder's parent should be")
    code = cxr_main(["evaluate", "--model", str(random_model), "--data", str(small_csv),
                     "--report-dir", str(blocker / "report"), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot create the folder" in err
    assert "images" not in err  # refused before a single image was read

