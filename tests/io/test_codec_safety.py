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
