"""The decoder processes: same pixels as in-process decoding, and a crashing decoder costs one file only."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pydicom
import pytest

from cxrviewer.io import CorruptImageError, NotAnImageError, load_image
from cxrviewer.io.sandbox import DecoderPool
from tests.decoder_abort import abort_decoder_on


@pytest.fixture
def pool():
    decoders = DecoderPool(processes=1, timeout_s=60)
    yield decoders
    decoders.close()


def test_pixels_window_and_tags_equal_in_process_decoding(pool, dicom_dir):
    for name in ("chest_cr_mono1_j2k_lossy.dcm", "dental_cr_mono1_jpeg_lossless_modality_lut.dcm"):
        isolated, local = pool.load(dicom_dir / name), load_image(dicom_dir / name)
        assert np.array_equal(isolated.pixels, local.pixels) and isolated.pixels.dtype == np.float32
        assert isolated.window == local.window and isolated.presets == local.presets
        assert dict(isolated.metadata) == dict(local.metadata) and isolated.pixel_spacing == local.pixel_spacing


@pytest.fixture
def aborts(dicom_dir, tmp_path, monkeypatch) -> Path:
    """A good file whose decoder dies of SIGABRT mid-file (tests/decoder_abort.py)."""
    path = tmp_path / "aborts.dcm"
    path.write_bytes((dicom_dir / "chest_dx_mono2_uncompressed.dcm").read_bytes())
    abort_decoder_on(monkeypatch, path.name)
    return path


def test_an_aborting_decoder_fails_that_file_and_the_next_one_decodes(pool, aborts, dicom_dir):
    with pytest.raises(CorruptImageError, match=r"aborts\.dcm: the decoder crashed on this file \(signal SIGABRT\)"):
        pool.load(aborts)
    image = pool.load(dicom_dir / "chest_dx_mono2_uncompressed.dcm")  # a fresh decoder
    assert image.pixels.shape == (1024, 1024)


def test_errors_keep_their_type_and_words(pool, tmp_path):
    text = tmp_path / "notes.dcm"
    text.write_text("not an image at all")
    with pytest.raises(NotAnImageError, match="notes.dcm"):
        pool.load(text)


def test_a_decoder_that_takes_too_long_is_replaced(dicom_dir):
    pool = DecoderPool(processes=1, timeout_s=0.01)  # no decoder starts and decodes in 10 ms
    try:
        with pytest.raises(CorruptImageError, match="took longer than"):
            pool.load(dicom_dir / "chest_cr_mono1_j2k_lossy.dcm")
        pool.timeout_s = 60
        assert pool.load(dicom_dir / "chest_dx_mono2_uncompressed.dcm").pixels.shape == (1024, 1024)
    finally:
        pool.close()
    assert pool.pids() == []


def test_cxr_info_reports_the_aborting_file_and_goes_on(capsys, aborts, dicom_dir):
    from cxrviewer.cli.main import main

    good = dicom_dir / "chest_dx_mono2_uncompressed.dcm"
    code = main(["info", str(aborts), str(good), "--json"])
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1 and len(records) == 2
    assert records[0]["ok"] is False and "decoder crashed" in records[0]["error"]
    assert records[1]["ok"] is True


@pytest.mark.parametrize("edit, accepted", [
    ({"Rows": 16384, "Columns": 16384}, True),  # 512 MiB at 16 bits: the largest accepted (refused later: no data)
    ({"Rows": 16384, "Columns": 16384, "BitsAllocated": 32}, False),
    ({"NumberOfFrames": 400}, False),  # 400 frames of 2140 x 1760 x 16 bits
])
def test_the_decoded_size_budget_is_checked_from_the_header(dicom_dir, tmp_path, edit, accepted):
    from cxrviewer.io import ImageTooLargeError, ImageLoadError

    ds = pydicom.dcmread(dicom_dir / "hip_cr_rle.dcm")
    for key, value in edit.items():
        setattr(ds, key, value)
    path = tmp_path / "big.dcm"
    ds.save_as(path)
    with pytest.raises(ImageLoadError) as caught:
        load_image(path)
    assert isinstance(caught.value, ImageTooLargeError) != accepted
    assert len(str(caught.value)) <= 300


def test_a_script_without_a_main_guard_does_not_run_again_in_the_decoder(dicom_dir, tmp_path):
    """Spawn re-runs the parent's __main__ in the child; a GUI script with top-level code then
    started a second window inside the decoder, which never answered (seen under Xvfb)."""
    import subprocess
    import sys

    script = tmp_path / "top_level.py"
    script.write_text(
        "import sys\n"
        "print('top level ran', file=sys.stderr)\n"
        "from cxrviewer.io.sandbox import DecoderPool\n"
        "pool = DecoderPool(processes=1, timeout_s=60)\n"
        f"print(pool.load({str(dicom_dir / 'chest_dx_mono2_uncompressed.dcm')!r}).pixels.shape)\n"
        "pool.close()\n"
    )
    child = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                           env={**__import__("os").environ, "CXR_DECODER_STDERR": "1"})
    assert child.returncode == 0, child.stderr[-400:]
    assert child.stdout.strip() == "(1024, 1024)" and child.stderr.count("top level ran") == 1


def test_a_clean_refusal_keeps_the_decoder_and_only_a_crash_replaces_it(pool, aborts, tmp_path, dicom_dir):
    """Respawning costs about 0.4 s: a file the loader refuses with a message must not pay it."""
    text = tmp_path / "notes.dcm"
    text.write_text("not an image at all")
    good = dicom_dir / "chest_dx_mono2_uncompressed.dcm"
    pool.load(good)
    first = pool.pids()
    with pytest.raises(NotAnImageError):
        pool.load(text)
    assert pool.pids() == first
    with pytest.raises(CorruptImageError):
        pool.load(aborts)
    pool.load(good)
    assert len(pool.pids()) == 1 and pool.pids() != first


def test_a_rust_panic_costs_the_decoder_no_backtrace(dicom_dir, tmp_path, monkeypatch):
    """With RUST_BACKTRACE=1 (a developer's shell) each pylibjpeg-rle panic resolved a backtrace
    nobody sees (the decoder's stderr is /dev/null): 0.2 s and 50 MiB of symbol tables kept for good."""
    data = bytearray((dicom_dir / "hip_cr_rle.dcm").read_bytes())
    data[1516] = 134  # a damaged RLE segment: pylibjpeg-rle panics (tests/io/test_codec_safety.py)
    panic = tmp_path / "rle_panic.dcm"
    panic.write_bytes(bytes(data))
    monkeypatch.setenv("RUST_BACKTRACE", "1")
    pool = DecoderPool(processes=1, timeout_s=60)
    try:
        pool.load(dicom_dir / "chest_dx_mono2_uncompressed.dcm")
        (pid,) = pool.pids()
        before = _rss(pid)
        with pytest.raises(CorruptImageError, match="PanicException"):
            pool.load(panic)
        assert pool.pids() == [pid] and _rss(pid) - before < 20 * 2**20
    finally:
        pool.close()


def _rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmRSS:"))


def test_the_decoder_gives_a_large_image_s_memory_back(dicom_dir):
    """glibc kept 20 MiB of what decoding the hip J2K freed (143 MiB after a 16384 x 16384 one)
    resident for the decoder's life; it trims its heap between files now."""
    pool = DecoderPool(processes=1, timeout_s=60)
    try:
        small = dicom_dir / "chest_dx_mono2_uncompressed.dcm"
        pool.load(small)
        (pid,) = pool.pids()
        before = _rss(pid)
        pool.load(dicom_dir / "hip_cr_j2k_lossless.dcm")
        pool.load(small)
        deadline = time.monotonic() + 2.0  # the decoder trims just after it answers: give it a moment
        while _rss(pid) - before >= 8 * 2**20 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _rss(pid) - before < 8 * 2**20
    finally:
        pool.close()


def test_a_decoder_is_replaced_after_its_quota_of_files(dicom_dir):
    """GDCM and OpenJPEG leak a little per file; a decoder retires cleanly after files_per_decoder."""
    pool = DecoderPool(processes=1, timeout_s=60, files_per_decoder=2)
    try:
        good = dicom_dir / "chest_dx_mono2_uncompressed.dcm"
        pool.load(good)
        (first,) = pool.pids()
        retired = pool._all[0].process  # noqa: SLF001 - to see how it ended
        pool.load(good)
        assert pool.pids() == [] and retired.exitcode == 0  # asked to stop, not killed
        assert pool.load(good).pixels.shape == (1024, 1024) and pool.pids() != [first]
    finally:
        pool.close()
