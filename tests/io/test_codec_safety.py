"""Damaged compressed data must end in an error message, not a dead process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

_LOAD = """
import sys
from cxrviewer.io import ImageLoadError, load_image
try:
    load_image(sys.argv[1])
except ImageLoadError as exc:
    print(type(exc).__name__)
"""


def test_j2k_with_impossible_bit_depth_is_an_error_not_an_abort(dicom_dir, tmp_path):
    """GDCM aborts the interpreter (uncaught C++ exception) when a JPEG 2000 SIZ
    segment claims 89-bit samples; the loader must never hand such data to GDCM while
    another decoder is installed. Run in a child process: an abort would kill pytest."""
    data = bytearray((dicom_dir / "hip_cr_j2k_lossless.dcm").read_bytes())
    siz = data.index(b"\xff\x4f\xff\x51")  # SOC + SIZ marker
    ssiz = siz + 42  # first component's Ssiz byte: (bit depth - 1) | sign bit
    assert data[ssiz] == 9  # 10-bit unsigned, as the header says
    data[ssiz] = 0x58
    path: Path = tmp_path / "bad_siz.dcm"
    path.write_bytes(bytes(data))
    child = subprocess.run([sys.executable, "-c", _LOAD, str(path)],
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr[-500:]
    assert child.stdout.strip() == "CorruptImageError"


def test_a_panicking_rle_decoder_becomes_an_error_message(dicom_dir, tmp_path):
    """pylibjpeg-rle (Rust) panics on a damaged segment; pyo3's PanicException derives
    from BaseException, so `except Exception` let it escape the loader and kill the
    caller (cxr info stopped at that file, the viewer's image stayed "Loading…")."""
    import pytest

    from cxrviewer.io import CorruptImageError, load_image

    data = bytearray((dicom_dir / "hip_cr_rle.dcm").read_bytes())
    assert data[1516] == 189  # inside the first RLE segment
    data[1516] = 134
    path = tmp_path / "rle_panic.dcm"
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptImageError, match="could not be decoded"):
        load_image(path)


def test_cxr_info_reports_the_panicking_file_and_goes_on(dicom_dir, tmp_path, capsys):
    from cxrviewer.cli.main import main as cxr_main

    data = bytearray((dicom_dir / "hip_cr_rle.dcm").read_bytes())
    data[1516] = 134
    (tmp_path / "a_panic.dcm").write_bytes(bytes(data))
    (tmp_path / "b_good.dcm").write_bytes((dicom_dir / "chest_dx_mono2_uncompressed.dcm").read_bytes())
    assert cxr_main(["info", str(tmp_path / "a_panic.dcm"), str(tmp_path / "b_good.dcm")]) == 1
    captured = capsys.readouterr()
    assert "a_panic.dcm" in captured.out + captured.err and "PanicException" in captured.out + captured.err
    assert "b_good.dcm" in captured.out and "1024" in captured.out  # the next file was still read
