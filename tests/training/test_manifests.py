"""Reading local data sets as ML engineers export them (spreadsheets, macOS folders)."""

from __future__ import annotations

import shutil

from training.data import read_csv_manifest, read_image_folder


def test_csv_header_spaces_and_quoted_line_breaks(tmp_path, cxr3_dir):
    image = next((cxr3_dir / "images" / "cdb_normal").glob("*.jpg"))
    shutil.copy(image, tmp_path / "a.jpg")
    shutil.copy(image, tmp_path / "b.jpg")
    (tmp_path / "labels.csv").write_text(
        'path, label ,note\n'
        'a.jpg,normal,"first line\nsecond line"\n'
        'b.jpg,covid,plain\n'
    )
    samples, _ = read_csv_manifest(tmp_path / "labels.csv")
    assert [(s.path.name, s.label) for s in samples] == [("a.jpg", "normal"), ("b.jpg", "covid")]
    assert samples[0].extras["note"] == "first line\nsecond line"
    assert [s.row for s in samples] == [3, 4]  # the physical line each row ends on


def test_image_folder_skips_hidden_files_and_folders(tmp_path, cxr3_dir):
    image = next((cxr3_dir / "images" / "cdb_normal").glob("*.jpg"))
    (tmp_path / "normal" / ".thumbnails").mkdir(parents=True)
    (tmp_path / ".Trash").mkdir()
    shutil.copy(image, tmp_path / "normal" / "x.jpg")
    (tmp_path / "normal" / "._x.jpg").write_bytes(b"\0\5\26\7 macOS resource fork")
    shutil.copy(image, tmp_path / "normal" / ".thumbnails" / "x.jpg")
    shutil.copy(image, tmp_path / ".Trash" / "y.jpg")
    samples, _ = read_image_folder(tmp_path)
    assert [(s.path.name, s.label) for s in samples] == [("x.jpg", "normal")]


def test_image_folders_read_extensionless_dicom_like_the_viewer(tmp_path, dicom_dir, cxr3_dir):
    """One extension list for the project: training sees the files the viewer's folder walk opens."""
    import shutil

    from cxrviewer.io import iter_image_files
    from training.data import read_image_folder

    (tmp_path / "normal").mkdir()
    (tmp_path / "pneumonia").mkdir()
    shutil.copy(dicom_dir / "chest_dx_mono2_uncompressed.dcm", tmp_path / "normal" / "IM000001")
    (tmp_path / "normal" / "notes.txt").write_text("not an image")
    shutil.copy(next((cxr3_dir / "images" / "nih_pneumonia").glob("*.jpg")), tmp_path / "pneumonia" / "a.JPE")
    samples, _ = read_image_folder(tmp_path)
    assert sorted(s.path.name for s in samples) == ["IM000001", "a.JPE"]
    assert sorted(p.name for p in iter_image_files([tmp_path])) == ["IM000001", "a.JPE"]
