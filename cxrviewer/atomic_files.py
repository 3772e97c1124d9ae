"""Atomic file writes shared by model export, reports and the viewer's exports.

No Qt and no torch, so every layer may use it. A reader (or a crash) never sees
a half-written file: data goes to a temp file beside the target, is fsynced,
then renamed over it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


def create_temp_beside(path: Path) -> tuple[int, str]:
    """Create an empty temp file next to ``path``; returns (fd, name).

    Created with mode 0666 less the umask, like any ordinary new file:
    tempfile.mkstemp would make it 0600, and os.replace keeps that mode, so a
    model directory, report or export would be unreadable to other users.
    """
    remove_stale_temps(path)
    for _ in range(100):
        # The writer's PID is in the name, so a later run can tell a killed writer's leftovers.
        tmp = path.parent / f".{path.name}.{os.getpid()}-{secrets.token_hex(6)}.tmp"
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            return os.open(tmp, flags, 0o666), str(tmp)
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file beside {path}")


def remove_stale_temps(path: Path) -> int:
    """Delete temp files beside ``path`` left by writers that no longer run (killed mid-write)."""
    removed = 0
    try:
        candidates = list(Path(path).parent.glob(f".{Path(path).name}.*-*.tmp"))
    except OSError:
        return 0
    for candidate in candidates:
        pid_text = candidate.name[len(Path(path).name) + 2:].split("-", 1)[0]
        if pid_text.isdigit() and not _process_alive(int(pid_text)):
            try:
                candidate.unlink()
                removed += 1
            except OSError:
                pass
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":
        return True  # no cheap check: keep the file rather than delete a live writer's
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def atomic_write_bytes(path: str | Path, data: bytes | memoryview) -> None:
    """Write ``data`` to ``path`` via a temp file + fsync + os.replace (umask-respecting mode)."""
    with atomic_writer(path) as fh:
        fh.write(data)


@contextlib.contextmanager
def atomic_writer(path: str | Path) -> Iterator[BinaryIO]:
    """A binary file to write ``path`` through; it appears (fsynced, renamed into place) only
    if the block ends without an exception, so a large output can be streamed, never half-seen."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = create_temp_beside(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)


def fsync_folder(folder: Path) -> None:
    """Make a rename durable: without it a power cut can lose the new name (POSIX; a no-op elsewhere)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def folder_problem(folder: Path, create: bool = True) -> str:
    """'' when ``folder`` exists (or can be made) and a file can be written in it, else why not.

    ``create=False`` leaves a missing folder missing (a run refused later for another
    reason must not leave an empty folder behind): its nearest existing parent must
    then be a folder that can be written in.
    """
    folder = Path(folder)
    if not create and not folder.exists():
        parent = next((p for p in folder.parents if p.exists()), None)
        if parent is None or not parent.is_dir():
            return f"{folder}: cannot create the folder (Not a directory)"
        return _write_problem(parent, folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"{folder}: cannot create the folder ({exc.strerror or type(exc).__name__})"
    return _write_problem(folder, folder)


def _write_problem(where: Path, named: Path) -> str:
    try:
        fd, tmp = create_temp_beside(where / "write-check")
    except OSError as exc:
        what = "cannot write in this folder" if where == named else "cannot create the folder"
        return f"{named}: {what} ({exc.strerror or type(exc).__name__})"
    os.close(fd)
    Path(tmp).unlink(missing_ok=True)
    return ""
