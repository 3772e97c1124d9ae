"""training.evaluate: manifests, label mapping, breakdown and exit codes, with a scripted predictor.

The end-to-end run with a real (random) model directory is in test_evaluate_e2e.py.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from training import evaluate
from training.evaluate import EvaluationInputError, Item, Manifest

LABELS = ("normal", "pneumonia", "covid")

# Seven images; the scripted model answers these probabilities (normal, pneumonia, covid).
#   file    truth      source   age        probabilities        predicted  conf  ood
#   n1.jpg  normal     kermany  pediatric  0.75 0.15 0.10       normal     0.75
#   p1.jpg  pneumonia  kermany  pediatric  0.20 0.70 0.10       pneumonia  0.70
#   p2.jpg  pneumonia  kermany  pediatric  0.55 0.35 0.10       normal     0.55  yes
#   n2.jpg  normal     cdb      adult      0.30 0.05 0.65       covid      0.65
#   c1.jpg  covid      cdb      adult      0.05 0.10 0.85       covid      0.85
#   c2.jpg  covid      cdb      adult      0.20 0.25 0.55       covid      0.55
#   n3.jpg  normal     nih      adult      0.70 0.20 0.10       normal     0.70
ROWS = [
    ("n1.jpg", "normal", "kermany", "pediatric", (0.75, 0.15, 0.10), False),
    ("p1.jpg", "pneumonia", "kermany", "pediatric", (0.20, 0.70, 0.10), False),
    ("p2.jpg", "pneumonia", "kermany", "pediatric", (0.55, 0.35, 0.10), True),
    ("n2.jpg", "normal", "cdb", "adult", (0.30, 0.05, 0.65), False),
    ("c1.jpg", "covid", "cdb", "adult", (0.05, 0.10, 0.85), False),
    ("c2.jpg", "covid", "cdb", "adult", (0.20, 0.25, 0.55), False),
    ("n3.jpg", "normal", "nih", "adult", (0.70, 0.20, 0.10), False),
]


class ScriptedPredictor:
    """Answers fixed probabilities per file name, like Predictor.predict does per image."""

    labels = LABELS
    config = SimpleNamespace(architecture="scripted", files={"model.safetensors": "f" * 64},
                             training={"version": "2026.11"})
    device = "cpu"

    def __init__(self, answers: dict[str, tuple[tuple[float, ...], bool]]):
        self.answers = answers

    def predict(self, images):
        out = []
        for image in images:
            probs, ood = self.answers[image.path.name]
            out.append(SimpleNamespace(probabilities=dict(zip(LABELS, probs)), ood_flag=ood))
        return out


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture()
def scripted_data(tmp_path: Path, cxr3_dir: Path, monkeypatch) -> Path:
    """Seven real JPEGs renamed as in ROWS, a CSV beside them, and the scripted model installed."""
    sources = sorted((cxr3_dir / "images" / "kermany_train").glob("*.jpg"))[:7]
    (tmp_path / "images").mkdir()
    for src, row in zip(sources, ROWS):
        shutil.copy(src, tmp_path / "images" / row[0])
    csv_rows = [[f"images/{name}", label, "test", source, str(i), age, ""]
                for i, (name, label, source, age, _, _) in enumerate(ROWS)]
    csv_rows.append(["images/other.jpg", "covid", "train", "cdb", "99", "adult", ""])  # not in the split
    _write_csv(tmp_path / "labels.csv", ["path", "label", "split", "source", "group", "age_group", "subtype"],
               csv_rows)
    (tmp_path / "model").mkdir()
    answers = {name: (probs, ood) for name, _, _, _, probs, ood in ROWS}
    monkeypatch.setattr(evaluate, "load_predictor", lambda model_dir, device: ScriptedPredictor(answers))
    return tmp_path


def _args(data: Path, model: Path | None, **extra) -> SimpleNamespace:
    defaults = dict(model=model, data=data, split="test", json=None, report_dir=None, batch_size=3,
                    device="cpu")
    return SimpleNamespace(**{**defaults, **extra})


def test_breakdown_by_hand(scripted_data: Path, capsys):
    out = scripted_data / "out" / "metrics.json"
    code = evaluate.run(_args(scripted_data / "labels.csv", scripted_data / "model", json=out))
    assert code == 0
    result = json.loads(out.read_text())
    # Overall: rows 1, 2, 5, 6, 7 right -> 5/7; one of seven flagged OOD.
    assert result["n"] == 7 and result["accuracy"] == pytest.approx(5 / 7)
    assert result["ood_fraction"] == pytest.approx(1 / 7)
    assert set(result["breakdown"]) == {"source", "age_group", "subtype"}  # never path/label/split/group
    kermany, cdb, nih = (result["breakdown"]["source"][s] for s in ("kermany", "cdb", "nih"))
    # kermany = rows 1-3: 2 of 3 right, 1 OOD. normal TP 1 FP 1 -> F1 2/3; pneumonia TP 1 FN 1 -> F1 2/3.
    # AUC normal: 0.75 vs 0.20, 0.55 -> 1; pneumonia: 0.70, 0.35 vs 0.15 -> 1; covid absent -> null.
    # ECE: one image per bin: (|1 - .75| + |1 - .70| + |0 - .55|) / 3 = 1.1 / 3.
    assert kermany["n"] == 3 and kermany["accuracy"] == pytest.approx(2 / 3)
    assert kermany["ood_fraction"] == pytest.approx(1 / 3)
    assert kermany["macro_f1"] == pytest.approx(2 / 3) and kermany["macro_auc"] == pytest.approx(1.0)
    assert kermany["per_class"]["covid"]["auc"] is None
    assert kermany["ece"] == pytest.approx(1.1 / 3)
    # cdb = rows 4-6, all predicted covid: normal F1 0, covid TP 2 FP 1 -> F1 4/5; macro over present = 0.4.
    # AUC normal: 0.30 vs 0.05, 0.20 -> 1; covid: 0.85, 0.55 vs 0.65 -> 1/2; macro 0.75.
    assert cdb["accuracy"] == pytest.approx(2 / 3) and cdb["macro_f1"] == pytest.approx(0.4)
    assert cdb["macro_auc"] == pytest.approx(0.75)
    assert cdb["per_class"]["normal"]["precision"] is None  # never predicted normal
    assert cdb["ece"] == pytest.approx((0.65 + 0.15 + 0.45) / 3)
    # nih = row 7 alone: what can be computed is, the rest is null.
    assert nih["n"] == 1 and nih["accuracy"] == 1.0 and nih["macro_auc"] is None
    ages = result["breakdown"]["age_group"]
    assert ages["adult"]["n"] == 4 and ages["adult"]["accuracy"] == pytest.approx(3 / 4)
    assert ages["pediatric"]["accuracy"] == kermany["accuracy"]
    assert set(result["breakdown"]["subtype"]) == {"(blank)"}
    assert result["meta"]["model_version"] == "2026.11" and result["meta"]["split"] == "test"
    # The manifest hash is the CSV's own sha256, the same one training records for its data.
    assert result["meta"]["manifest_sha256"] == hashlib.sha256(
        (scripted_data / "labels.csv").read_bytes()).hexdigest()
    assert "accuracy" in capsys.readouterr().out  # the human summary


def test_json_top_level_keys_and_no_nan(scripted_data: Path):
    out = scripted_data / "m.json"
    assert evaluate.run(_args(scripted_data / "labels.csv", scripted_data / "model", json=out)) == 0
    text = out.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert list(json.loads(text)) == ["n", "accuracy", "macro_f1", "macro_auc", "ece", "ood_fraction",
                                      "per_class", "confusion_matrix", "failed", "breakdown", "meta"]


def test_split_all_uses_every_row_and_counts_the_missing_file(scripted_data: Path, capsys):
    out = scripted_data / "all.json"
    code = evaluate.run(_args(scripted_data / "labels.csv", scripted_data / "model", json=out, split="all"))
    assert code == 1  # the metrics of the others are written; exit 1 says one file failed
    result = json.loads(out.read_text())
    assert result["n"] == 7 and result["meta"]["split"] is None
    assert result["failed"] == [{"path": "images/other.jpg", "reason": "other.jpg: file not found"}]
    assert "1 of 8 files could not be evaluated" in capsys.readouterr().err


def test_split_matches_case_insensitively(scripted_data: Path):
    assert len(evaluate.read_manifest(scripted_data / "labels.csv", "TEST").items) == len(ROWS)


def test_data_hash_changes_when_an_image_changes(scripted_data: Path):
    items = evaluate.read_manifest(scripted_data / "labels.csv", "test").items
    before = evaluate.data_sha256(items)
    assert before == evaluate.data_sha256(items)
    (scripted_data / "images" / "c1.jpg").write_bytes(b"changed")
    assert evaluate.data_sha256(items) != before


def test_unknown_labels_exit_2_listing_them(scripted_data: Path, capsys):
    csv_path = _write_csv(scripted_data / "odd.csv", ["path", "label"],
                          [["images/n1.jpg", "Tuberculosis"], ["images/c1.jpg", "effusion"],
                           ["images/p1.jpg", "pneumonia"]])
    assert evaluate.run(_args(csv_path, scripted_data / "model")) == 2
    err = capsys.readouterr().err
    assert "Tuberculosis, effusion" in err and "normal, pneumonia, covid" in err


def test_obvious_label_spellings_are_mapped(scripted_data: Path):
    csv_path = _write_csv(scripted_data / "caps.csv", ["path", "label"],
                          [["images/n1.jpg", "NORMAL"], ["images/c1.jpg", "COVID-19"],
                           ["images/p1.jpg", "Pneumonia"]])
    out = scripted_data / "caps.json"
    assert evaluate.run(_args(csv_path, scripted_data / "model", json=out)) == 0
    result = json.loads(out.read_text())
    assert result["meta"]["label_mapping"] == {"COVID-19": "covid", "NORMAL": "normal", "Pneumonia": "pneumonia"}
    assert result["accuracy"] == 1.0  # n1 -> normal, c1 -> covid, p1 -> pneumonia are all right


def test_map_labels_refuses_ambiguous_matches():
    assert evaluate.map_labels(["Covid-19", "covid"], LABELS) == {"Covid-19": "covid", "covid": "covid"}
    # "class-1" would match both "class1" (exactly, ignoring punctuation) ... which wins, unambiguously:
    assert evaluate.map_labels(["class-1"], ("class1", "class2")) == {"class-1": "class1"}
    # ... but "class3" only matches ignoring digits, where both model labels collide: no guess.
    with pytest.raises(EvaluationInputError, match="class3"):
        evaluate.map_labels(["class3"], ("class1", "class2"))


@pytest.mark.parametrize("header, rows, split, message", [
    (["path", "diagnosis"], [["a.jpg", "normal"]], "test", "missing column"),
    (["path", "label"], [["a.jpg", ""], ["b.jpg", "normal"]], "test", "line"),
    (["path", "label", "split"], [["a.jpg", "normal", "train"]], "test", "no rows with split 'test'"),
    (["path", "label", "split"], [["a.jpg", "normal", "Train"]], "val", "splits present: train"),
    (["path", "label"], [], "test", "no images listed"),
])
def test_bad_csv_exits_2_with_a_message(tmp_path: Path, capsys, header, rows, split, message):
    csv_path = _write_csv(tmp_path / "bad.csv", header, rows)
    assert evaluate.run(_args(csv_path, tmp_path, split=split)) == 2
    assert message in capsys.readouterr().err


def test_data_that_is_not_a_csv_exits_2(tmp_path: Path, capsys):
    not_csv = tmp_path / "scan.csv"
    not_csv.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\xff\xfe")
    assert evaluate.run(_args(not_csv, tmp_path)) == 2
    assert "cannot be read as a CSV" in capsys.readouterr().err


def test_missing_data_and_model_exit_2(tmp_path: Path, capsys, cxr3_dir: Path):
    assert evaluate.run(_args(tmp_path / "nope.csv", tmp_path)) == 2
    assert "data not found" in capsys.readouterr().err
    csv_path = _write_csv(tmp_path / "ok.csv", ["path", "label"], [["a.jpg", "normal"]])
    assert evaluate.run(_args(csv_path, tmp_path / "no-model")) == 2
    assert "model directory not found" in capsys.readouterr().err


def test_default_model_is_the_bundled_one(tmp_path: Path, capsys, monkeypatch):
    import cxrviewer.resources

    monkeypatch.setattr(cxrviewer.resources, "bundled_model_dir", lambda: tmp_path / "absent")
    csv_path = _write_csv(tmp_path / "ok.csv", ["path", "label"], [["a.jpg", "normal"]])
    assert evaluate.run(_args(csv_path, None)) == 2
    assert "no bundled model" in capsys.readouterr().err


def test_unwritable_outputs_are_refused_before_the_run(scripted_data: Path, capsys):
    folder = scripted_data / "a-folder"
    folder.mkdir()
    assert evaluate.run(_args(scripted_data / "labels.csv", scripted_data / "model", json=folder)) == 2
    assert "is a folder" in capsys.readouterr().err
    a_file = scripted_data / "a-file"
    a_file.write_text("x")
    assert evaluate.run(_args(scripted_data / "labels.csv", scripted_data / "model", report_dir=a_file)) == 2
    assert "exists and is not a folder" in capsys.readouterr().err


def test_bad_batch_size_exits_2(scripted_data: Path, capsys):
    assert evaluate.run(_args(scripted_data / "labels.csv", scripted_data / "model", batch_size=0)) == 2
    assert "--batch-size" in capsys.readouterr().err


def test_all_files_failing_exits_1(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setattr(evaluate, "load_predictor", lambda d, device: ScriptedPredictor({}))
    (tmp_path / "model").mkdir()
    csv_path = _write_csv(tmp_path / "gone.csv", ["path", "label"], [["x.jpg", "normal"], ["y.jpg", "covid"]])
    out, report_dir = tmp_path / "gone.json", tmp_path / "report"
    assert evaluate.run(_args(csv_path, tmp_path / "model", json=out, report_dir=report_dir)) == 1
    result = json.loads(out.read_text())
    assert result["n"] == 0 and result["accuracy"] is None and len(result["failed"]) == 2
    assert (report_dir / "summary.md").is_file()  # an empty report, not a crash
    assert "none of the 2 images" in capsys.readouterr().err


def test_an_image_the_model_rejects_is_failed_not_fatal(scripted_data: Path):
    class Picky(ScriptedPredictor):
        def predict(self, images):
            if any(image.path.name == "p2.jpg" for image in images):
                raise ValueError("image too small")
            return super().predict(images)

    answers = {name: (probs, ood) for name, _, _, _, probs, ood in ROWS}
    run = evaluate.predict_items(Picky(answers), evaluate.read_manifest(scripted_data / "labels.csv", "test").items, 3)
    assert [item.relpath for item in run.items] == [f"images/{r[0]}" for r in ROWS if r[0] != "p2.jpg"]
    assert run.failed == [{"path": "images/p2.jpg", "reason": "model could not process it (image too small)"}]


def test_loader_surprises_and_nan_outputs_are_failed_not_fatal(scripted_data: Path, monkeypatch):
    import cxrviewer.io.sandbox

    real_load = cxrviewer.io.sandbox.load_image_isolated  # cxr evaluate decodes in the decoder processes

    def flaky_load(path):
        if Path(path).name == "n1.jpg":
            raise RuntimeError("decoder bug")  # not an ImageLoadError
        return real_load(path)

    monkeypatch.setattr(cxrviewer.io.sandbox, "load_image_isolated", flaky_load)
    answers = {name: (probs, ood) for name, _, _, _, probs, ood in ROWS}
    answers["c2.jpg"] = ((float("nan"), 0.5, 0.5), False)
    items = evaluate.read_manifest(scripted_data / "labels.csv", "test").items
    run = evaluate.predict_items(ScriptedPredictor(answers), items, 4)
    assert len(run.items) == len(ROWS) - 2
    assert run.failed == [
        {"path": "images/n1.jpg", "reason": "unexpected error (RuntimeError: decoder bug)"},
        {"path": "images/c2.jpg", "reason": "model returned non-finite probabilities"},
    ]


def test_image_folder_layouts(tmp_path: Path):
    for rel in ("flat/normal/a.png", "flat/covid/b.jpg", "flat/covid/notes.txt",
                "split/train/normal/c.png", "split/test/normal/d.png", "split/test/covid/e.dcm",
                "split/test/covid/site2/f.png"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    flat = evaluate.read_manifest(tmp_path / "flat", "test")
    assert [(i.relpath, i.label) for i in flat.items] == [("covid/b.jpg", "covid"), ("normal/a.png", "normal")]
    assert flat.split is None
    split = evaluate.read_manifest(tmp_path / "split", "test")
    assert [(i.relpath, i.label) for i in split.items] == [("test/covid/e.dcm", "covid"),
                                                            ("test/covid/site2/f.png", "covid"),
                                                            ("test/normal/d.png", "normal")]
    assert len(evaluate.read_manifest(tmp_path / "split", "all").items) == 4
    with pytest.raises(EvaluationInputError, match="no rows with split 'val'; splits present: test, train"):
        evaluate.read_manifest(tmp_path / "split", "val")


def test_breakdown_columns_skip_ids_and_many_valued_columns():
    items = [Item(Path(f"{i}.png"), f"{i}.png", "normal",
                  {"source": "ab"[i % 2], "group": str(i % 3), "patient_age": str(i), "split": "test"})
             for i in range(25)]
    manifest = Manifest(items, "test", ("split", "source", "group", "patient_age"))
    assert evaluate.breakdown_columns(manifest) == ["source"]  # patient_age has 25 values > 20
