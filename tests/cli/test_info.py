"""`cxr info`: per-image lines, --json records, exit codes 0/1/2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest
from pydicom.pixels import apply_modality_lut

from cxrviewer.cli.main import main

JSON_KEYS = ["path", "ok", "kind", "width", "height", "bits", "photometric",
             "modality", "body_part", "view_position", "frames", "error",
             "windows", "value_min", "value_max"]


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_json_describes_every_shared_dicom_from_its_header(dicom_dir, dicom_files, capsys):
    assert main(["info", "--json", str(dicom_dir)]) == 0
    records = _json_lines(capsys.readouterr().out)
    assert [Path(r["path"]).name for r in records] == [p.name for p in dicom_files]
    for record in records:
        assert list(record) == JSON_KEYS
        ds = pydicom.dcmread(record["path"], stop_before_pixels=True)
        assert record["ok"] is True and record["error"] is None
        assert record["kind"] == "dicom"
        assert (record["width"], record["height"]) == (ds.Columns, ds.Rows)
        assert record["bits"] == ds.BitsStored
        assert record["photometric"] == ds.PhotometricInterpretation
        assert record["modality"] == ds.Modality
        assert record["frames"] == 1


def test_json_windows_and_values_are_on_the_files_own_scale(dicom_dir, dicom_files, capsys):
    """The header's Window Center/Width as written and the Modality LUT output's range, for
    MONOCHROME1 too (the CR's window is 15000/30000, not mirrored to 17767)."""
    assert main(["info", "--json", str(dicom_dir)]) == 0
    for record in _json_lines(capsys.readouterr().out):
        ds = pydicom.dcmread(record["path"])
        values = apply_modality_lut(ds.pixel_array, ds)
        assert (record["value_min"], record["value_max"]) == (values.min(), values.max())
        expected = []
        if "WindowCenter" in ds:
            expected = [{"center": float(ds.WindowCenter), "width": float(ds.WindowWidth),
                         "explanation": "File window", "function": "LINEAR"}]
        assert record["windows"] == expected, Path(record["path"]).name
    chest = next(p for p in dicom_files if p.name.startswith("chest_cr"))
    assert main(["info", "--json", str(chest)]) == 0
    (record,) = _json_lines(capsys.readouterr().out)
    assert record["windows"][0]["center"] == 15000 and record["photometric"] == "MONOCHROME1"


def test_human_lines_one_per_image(dicom_files, capsys):
    chest = next(p for p in dicom_files if p.name.startswith("chest_cr"))
    assert main(["info", str(chest)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{chest}: DICOM 1841x1955, 15-bit MONOCHROME1, CR CHEST PA"]


def test_any_failure_gives_exit_1_and_a_record(dicom_files, tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_text("just text")
    missing = tmp_path / "missing.dcm"
    rc = main(["info", "--json", str(dicom_files[0]), str(bad), str(missing)])
    assert rc == 1
    good, not_image, absent = _json_lines(capsys.readouterr().out)
    assert good["ok"] is True
    assert not_image == {**dict.fromkeys(JSON_KEYS), "path": str(bad), "ok": False,
                         "error": not_image["error"]}
    assert "not a DICOM, PNG or JPEG image" in not_image["error"]
    assert absent["ok"] is False and "file not found" in absent["error"]


def test_human_failures_go_to_stderr(tmp_path, capsys):
    empty = tmp_path / "empty.png"
    empty.touch()
    assert main(["info", str(empty)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == f"{empty}: error: file is empty (0 bytes)"


def test_failed_record_keeps_the_sniffed_kind(tmp_path, capsys):
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 10)
    assert main(["info", "--json", str(cut)]) == 1
    (record,) = _json_lines(capsys.readouterr().out)
    assert record["kind"] == "jpeg" and record["ok"] is False


def test_folder_walk_includes_png_and_jpeg(samples_dir, capsys):
    assert main(["info", "--json", str(samples_dir)]) == 0
    kinds = {r["kind"] for r in _json_lines(capsys.readouterr().out)}
    assert kinds == {"dicom", "png", "jpeg"}


def test_no_paths_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["info"])
    assert exc.value.code == 2
    assert "PATH" in capsys.readouterr().err


def _cxr() -> Path:
    script = Path(sys.executable).parent / "cxr"
    if not script.exists():
        pytest.fail(f"the cxr entry point is not installed beside {sys.executable}")
    return script


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(_cxr()), *args], capture_output=True, text=True, timeout=120)


@pytest.mark.slow  # starts the installed command in fresh interpreters
def test_entry_point_exit_codes(dicom_dir, tmp_path):
    ok = _run("info", "--json", str(dicom_dir))
    assert ok.returncode == 0, ok.stderr
    records = _json_lines(ok.stdout)
    assert len(records) == 7 and all(r["ok"] for r in records)
    assert _run("info", str(tmp_path / "missing.dcm")).returncode == 1
    usage = _run("info")
    assert usage.returncode == 2 and "usage:" in usage.stderr


def test_named_pipe_fails_without_blocking(tmp_path, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert main(["info", "--json", str(fifo)]) == 1
    (record,) = _json_lines(capsys.readouterr().out)
    assert record["ok"] is False and record["kind"] is None


def test_every_entry_of_a_folder_is_accounted_for_and_odd_names_print(capsys, samples_dir, tmp_path):
    import os
    import shutil

    folder = tmp_path / "share"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(samples_dir / "normal_kermany_IM-0195-0001.jpg", folder / "film.jpg")
    odd = os.fsdecode(b"caf\xe9.jpg")  # not UTF-8: surrogate-escaped on Linux
    shutil.copy(samples_dir / "normal_kermany_IM-0195-0001.jpg", folder / "sub" / odd)
    os.mkfifo(folder / "pipe.dcm")
    (folder / "broken.png").symlink_to(tmp_path / "gone.png")
    (folder / "notes.txt").write_text("not an image")
    (folder / ".DS_Store").write_bytes(b"\0")
    from cxrviewer.cli.main import main

    code = main(["info", str(folder)])
    captured = capsys.readouterr()
    assert code == 0 and len(captured.out.splitlines()) == 2 and "caf\\udce9.jpg" in captured.out
    skipped = {line.split(": ")[1].rsplit("/", 1)[-1]: line.split(": ", 2)[2]
               for line in captured.err.splitlines() if line.startswith("skipped: ")}
    assert skipped == {"pipe.dcm": "not a regular file (a pipe, socket or device)", "broken.png": "broken link",
                       "notes.txt": "not an image (by its extension and content)", ".DS_Store": "hidden"}
