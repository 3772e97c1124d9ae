"""The local copy of retrieved instances: ``<root>/<study>/<series>/<sop>.dcm``, bounded in size.

The files hold patient data, so the folders are private to the user (0700). Once the
cache outgrows its bound, the least recently used files go first; the files of the
study being read are never evicted under it, so a study larger than the bound is
still read whole (and trimmed on the next eviction).
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from cxrviewer.atomic_files import atomic_writer

from .errors import PacsError

if TYPE_CHECKING:
    from pydicom import Dataset

log = logging.getLogger(__name__)

ENV_CACHE_DIR = "CXR_PACS_CACHE"
DEFAULT_MAX_BYTES = 2 * 2**30
_UID = re.compile(r"^[0-9][0-9.]{0,63}$")


def default_cache_dir() -> Path:
    """$CXR_PACS_CACHE, else the platform's per-user cache folder + cxrviewer/pacs."""
    configured = os.environ.get(ENV_CACHE_DIR)
    if configured:
        return Path(configured).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "cxrviewer" / "pacs"


def check_uid(uid: str, what: str = "UID") -> str:
    """A UID is also a path part here: anything but digits and dots is refused."""
    if not _UID.match(uid or "") or ".." in uid:
        raise PacsError(f"not a DICOM {what}: {uid!r} (digits and dots, at most 64 characters)")
    return uid


class InstanceCache:
    def __init__(self, root: Path | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_bytes <= 0:
            raise PacsError("the cache size must be positive")
        self.root = Path(root) if root is not None else default_cache_dir()
        self.max_bytes = int(max_bytes)

    def path_for(self, study_uid: str, series_uid: str, sop_uid: str) -> Path:
        return (self.root / check_uid(study_uid, "Study Instance UID") / check_uid(series_uid, "Series Instance UID")
                / f"{check_uid(sop_uid, 'SOP Instance UID')}.dcm")

    def get(self, study_uid: str, series_uid: str, sop_uid: str) -> Path | None:
        """The cached file, marked as just used, or None."""
        path = self.path_for(study_uid, series_uid, sop_uid)
        try:
            os.utime(path)
        except OSError:
            return None
        return path

    def put(self, study_uid: str, series_uid: str, sop_uid: str, dataset: Dataset) -> Path:
        from pydicom import dcmwrite  # here: the viewer imports this module at start-up

        path = self.path_for(study_uid, series_uid, sop_uid)
        self._make_private_folders(path.parent)
        try:
            with atomic_writer(path) as fh:
                dcmwrite(fh, dataset, enforce_file_format=True)
        except OSError as exc:
            raise PacsError(f"cannot write the cache in {self.root} ({exc.strerror or type(exc).__name__}); "
                            "choose another with --cache-dir") from None
        return path

    def evict(self, keep: Iterable[Path] = ()) -> int:
        """Remove least recently used files until the cache fits its bound; returns bytes freed."""
        keep = {Path(p) for p in keep}
        files = []
        for path in self.root.glob("*/*/*.dcm"):
            try:
                stat = path.stat()
            except OSError:
                continue
            files.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in files)
        freed = 0
        for _, size, path in sorted(files, key=lambda f: f[0]):
            if total - freed <= self.max_bytes:
                break
            if path in keep:
                continue
            try:
                path.unlink()
                freed += size
            except OSError:
                continue
            _remove_empty(path.parent, self.root)
        if freed:
            log.info("cache: evicted %.1f MiB", freed / 2**20)
        return freed

    def _make_private_folders(self, folder: Path) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            for part in (folder.parent, folder):
                part.mkdir(exist_ok=True, mode=0o700)
        except OSError as exc:
            raise PacsError(f"cannot create the cache folder {self.root} "
                            f"({exc.strerror or type(exc).__name__}); choose another with --cache-dir") from None


def _remove_empty(folder: Path, root: Path) -> None:
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
