"""Finding images in folders and recognising formats by content."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from cxrviewer.io import iter_image_files
from cxrviewer.io.detect import sniff_kind
from cxrviewer.io.walk import natural_key

from .conftest import build_dataset  # noqa: TID252


def _png(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((2, 2), np.uint8)).save(path, format="PNG")
    return path


def _bare_dicom(path: Path) -> Path:
    ds = build_dataset(np.zeros((2, 2), np.uint16))
    del ds.file_meta
    ds.save_as(path, implicit_vr=True, little_endian=True, enforce_file_format=False)
    return path


def test_walk_is_recursive_natural_and_skips_hidden(tmp_path):
    for name in ("img10.png", "img2.png", "img1.png", "sub/a.png", ".hidden.png", ".cache/x.png"):
        _png(tmp_path / name)
    found = [p.relative_to(tmp_path).as_posix() for p in iter_image_files([tmp_path])]
    assert found == ["img1.png", "img2.png", "img10.png", "sub/a.png"]


def test_walk_keeps_extensionless_dicom_and_drops_other_files(tmp_path, make_dicom):
    _bare_dicom(tmp_path / "IM000001")
    (tmp_path / "labels.csv").write_text("path,label\n")
    (tmp_path / "README").write_text("not an image")
    (tmp_path / "DICOMDIR").write_bytes(make_dicom(None, name="dir.dcm").read_bytes())
    _png(tmp_path / "png_without_suffix")
    found = sorted(p.name for p in iter_image_files([tmp_path]))
    assert found == ["IM000001", "dir.dcm", "png_without_suffix"]


def test_explicit_paths_are_yielded_even_if_missing_or_not_images(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    missing = tmp_path / "missing.dcm"
    assert list(iter_image_files([text, missing])) == [text, missing]


def test_walk_survives_a_symlink_loop(tmp_path):
    _png(tmp_path / "a.png")
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    assert [p.name for p in iter_image_files([tmp_path])] == ["a.png"]


def test_natural_key_orders_numbers_by_value():
    assert sorted(["s10", "S2", "s1"], key=natural_key) == ["s1", "S2", "s10"]


def test_sniff_recognises_real_files_by_content(dicom_files, samples_dir, tmp_path):
    for path in dicom_files:
        assert sniff_kind(path) == "dicom"
    renamed = tmp_path / "chest.jpg"
    renamed.write_bytes(next(iter(sorted(samples_dir.glob("*.png")))).read_bytes())
    assert sniff_kind(renamed) == "png"
    assert sniff_kind(_bare_dicom(tmp_path / "bare")) == "dicom"
    assert sniff_kind(b"hello world, this is text") is None
