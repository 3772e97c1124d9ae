"""Peak RSS of a decoder process per file (Linux): reset the high-water mark before the
file (``echo 5 > /proc/PID/clear_refs``), read ``VmHWM`` after it.

The budget for one file is the decoder's own base (its peak on a trivial file, plus
an allowance for the few MiB a long-lived interpreter's heap grows by) plus three
times the decoded image as float32 (every sample), never above 6 GiB.

The decoders run with a fixed glibc mmap threshold (128 KiB): otherwise glibc raises
it after the first large free and keeps up to 64 MiB of freed heap mapped between
files, and each file's peak would carry what the files before it left behind.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from cxrviewer.io.sandbox import DecoderPool

log = logging.getLogger(__name__)

BUDGET_FACTOR = 3
BUDGET_CAP = 6 * 1024**3
BASE_ALLOWANCE = 32 * 2**20
BUDGET_RULE = ("trivial-file peak + 32 MiB + 3 x max(rows x columns x samples x 4 bytes, file size), "
               "at most 6 GiB")
DECODER_ENVIRONMENT = {"MALLOC_MMAP_THRESHOLD_": str(128 * 1024)}


def _pid(pool: DecoderPool) -> int | None:
    pids = pool.pids()
    return pids[0] if pids else None


def reset_peak(pool: DecoderPool, settle_to: int | None = None) -> int | None:
    """Reset the decoder's high-water mark; its pid, or None if no decoder runs yet
    (the next load starts one, whose peak then includes its start-up).

    ``settle_to``: first wait (at most 0.2 s) while the decoder's RSS is above this and
    still falling. A decoder frees a large file's memory just after it answers; a reset
    in that moment would charge the memory to the next file.
    """
    pid = _pid(pool)
    if pid is None:
        return None
    if settle_to is not None:
        _settle(pid, settle_to)
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        log.debug("cannot reset the peak RSS of %d", pid)
    return pid


def _settle(pid: int, target: int) -> None:
    last, steady = None, 0
    for _ in range(100):
        rss = _status(pid).get("VmRSS")
        if rss is None or rss <= target:
            return
        steady = steady + 1 if rss == last else 0
        if steady >= 3:
            return
        last = rss
        time.sleep(0.002)


def _status(pid: int) -> dict[str, int]:
    """VmHWM and VmRSS of ``pid`` in bytes (empty if it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    out = {}
    for line in status.splitlines():
        if line.startswith(("VmHWM:", "VmRSS:")):
            key, value = line.split(":", 1)
            out[key] = int(value.split()[0]) * 1024
    return out


def read_peak(pool: DecoderPool, pid_before: int | None) -> tuple[int, int] | None:
    """(peak RSS since reset_peak, RSS now) in bytes, or None if the decoder died meanwhile."""
    pid = _pid(pool)
    if pid is None or (pid_before is not None and pid != pid_before):
        return None
    status = _status(pid)
    if "VmHWM" not in status or "VmRSS" not in status:
        return None
    return status["VmHWM"], status["VmRSS"]


def budget(trivial_peak: int, pixels: int) -> int:
    """``pixels``: rows x columns x samples of the decoded (or announced) image."""
    return min(trivial_peak + BASE_ALLOWANCE + BUDGET_FACTOR * 4 * pixels, BUDGET_CAP)
