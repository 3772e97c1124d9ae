"""The committed fixture set (tests/data/): small, complete, credited, and a faithful subset of the full data."""

from __future__ import annotations

import csv
import importlib.util
import re
from collections import Counter
from fnmatch import fnmatch
from pathlib import Path

from tests.data_root import FIXTURES

MAX_BYTES = 25 * 1024 * 1024  # the budget for what every clone carries
_OWN_FILES = {"CREDITS.md", "make_fixtures.py"}

_SPEC = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
make_fixtures = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(make_fixtures)


def _data_files() -> dict[str, Path]:
    return {p.relative_to(FIXTURES).as_posix(): p for p in sorted(FIXTURES.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts and p.name not in _OWN_FILES}


def _rows(name: str) -> list[dict]:
    with open(FIXTURES / name / "labels.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_the_fixture_set_stays_small():
    size = sum(p.stat().st_size for p in _data_files().values())
    assert size < MAX_BYTES, f"tests/data holds {size / 2**20:.1f} MiB"


def test_every_listed_file_is_there_and_every_file_is_listed():
    listed = {"cxr3/labels.csv", "lungs/labels.csv"}
    for name, columns in make_fixtures._FILE_COLUMNS.items():
        for row in _rows(name):
            listed |= {f"{name}/{row[c]}" for c in columns if row.get(c)}
    files = set(_data_files())
    whole = {f for f in files if f.split("/")[0] in make_fixtures.COPIED_WHOLE}
    assert listed - files == set(), "listed in a labels.csv but not committed"
    assert files - listed - whole == set(), "committed but in no labels.csv (rebuild with make_fixtures.py)"


def test_every_class_has_images_in_every_split():
    # Evaluation, adaptation and training tests need several images per class and split.
    for name in ("cxr3", "lungs"):
        counts = Counter((r["label"], r["split"]) for r in _rows(name))
        for label in ("normal", "pneumonia", "covid"):
            for split in ("train", "val", "test"):
                assert counts[label, split] >= 4, (name, label, split)
    assert len(list((FIXTURES / "dicom").glob("*.dcm"))) == 7


def test_every_file_is_credited():
    """Each file falls under an entry of CREDITS.md: a `folder/`, a file name or a `glob`."""
    entries = re.findall(r"`([^`]+)`", (FIXTURES / "CREDITS.md").read_text(encoding="utf-8"))
    for path in _data_files():
        if not path.endswith("labels.csv"):
            assert any(path.startswith(e) if e.endswith("/") else fnmatch(path, e) for e in entries), path


def test_the_fixture_set_is_what_make_fixtures_selects_from_the_full_data(full_data):
    """Byte-identical copies of the full sets' files and rows, and nothing the selection would not pick."""
    planned = make_fixtures.plan(full_data)
    committed = _data_files()
    assert set(committed) == set(planned), "rebuild tests/data with tests/data/make_fixtures.py"
    for relative, content in planned.items():
        expected = content if isinstance(content, bytes) else content.read_bytes()
        assert committed[relative].read_bytes() == expected, relative
