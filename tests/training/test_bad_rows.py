"""Every bad row is reported together, before training starts, with a non-zero exit."""

from __future__ import annotations

import csv

import pytest

from cxrviewer.cli.main import main as cxr_main
from training.data import DataError, load_dataset
from training.synthetic import make_dataset


def _add_rows(csv_path, rows):
    with open(csv_path, "a", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        for row in rows:
            writer.writerow(row)


@pytest.fixture()
def broken_csv(tmp_path):
    csv_path = make_dataset(tmp_path, per_class=3)
    (tmp_path / "images" / "garbage.png").write_bytes(b"this is not an image at all")
    _add_rows(csv_path, [
        ["images/normal/missing.png", "normal", "g-x", "site0"],
        ["images/garbage.png", "covid", "g-y", "site0"],
        ["images/normal/normal_000.png", "tuberculosis", "g-z", "site0"],
    ])
    return csv_path


def test_all_bad_rows_in_one_error(broken_csv):
    with pytest.raises(DataError) as info:
        load_dataset(broken_csv, labels=["normal", "pneumonia", "covid"])
    message = str(info.value)
    assert "3 bad row(s)" in message
    assert "row 11: file not found: missing.png" in message
    assert "row 12: cannot read garbage.png" in message
    assert "row 13: unknown label 'tuberculosis'" in message


def test_cxr_train_exits_with_usage_error_before_training(broken_csv, tmp_path, capsys):
    out = tmp_path / "out"
    code = cxr_main(["train", "--data", str(broken_csv), "--out", str(out), "--preset", "tiny",
                     "--labels", "normal,pneumonia,covid", "--no-progress"])
    assert code == 2
    err = capsys.readouterr().err
    assert "3 bad row(s)" in err and "missing.png" in err
    assert not (out / "checkpoint.pt").exists()


def test_missing_columns_are_named(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("file,diagnosis\na.png,normal\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"missing column\(s\) \['path', 'label'\]"):
        load_dataset(bad)
