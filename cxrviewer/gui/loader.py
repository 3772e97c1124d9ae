"""Decoding and folder walking off the UI thread.

One worker QObject lives in one QThread and takes jobs from a JobQueue: the
image the reader asked for first, then folder scans, then list previews, so
the wanted image is never stuck behind a folder's worth of thumbnails. Results
come back as plain frozen dataclasses through a queued signal.

Cancellation is cooperative: cancelled jobs leave the queue, a running decode
checks its flag before the thumbnail and before reporting, and a folder scan
checks it between files. A decode in progress cannot be interrupted (pydicom
has no hook), so shutdown waits for it; the thread is never terminated.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from cxrviewer.imaging.windowing import standard_presets
from cxrviewer.io import ImageLoadError, LoadedImage, Window, load_image

from .file_discovery import expand_paths
from .job_queue import DISPLAY, SCAN, THUMBNAIL, Job, JobQueue
from .thumbnails import make_thumbnail

log = logging.getLogger(__name__)

__all__ = ["DISPLAY", "SCAN", "THUMBNAIL", "ImageLoader", "LoadResult"]

_SHUTDOWN_WAIT_MS = 30_000


@dataclass(frozen=True, eq=False)
class LoadResult:
    """What the worker hands back: an image and its preview, files found, or a message for people."""

    request_id: int
    path: Path
    purpose: str  # DISPLAY, SCAN or THUMBNAIL
    image: LoadedImage | None = None
    presets: tuple[Window, ...] = ()  # the five standard windows, for display results
    thumbnail: np.ndarray | None = None
    files: tuple[Path, ...] = ()  # for scan results
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def describe_failure(path: Path, exc: BaseException) -> str:
    if isinstance(exc, ImageLoadError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return f"{path.name}: not enough memory to open this image"
    return f"{path.name}: could not be opened ({type(exc).__name__})"


def _scan(job: Job) -> LoadResult | None:
    files = expand_paths([job.path], stop=job.cancelled)
    if job.cancelled.is_set():
        return None
    return LoadResult(job.request_id, job.path, SCAN, files=tuple(files))


def _load(job: Job) -> LoadResult | None:
    try:
        image = load_image(job.path)
        if job.cancelled.is_set():
            return None
        thumbnail = make_thumbnail(image)
    except Exception as exc:  # any failure is reported, never raised into Qt
        log.info("load failed: %s", type(exc).__name__)  # no path: it may name a patient
        log.debug("load failure detail", exc_info=True)
        return LoadResult(job.request_id, job.path, job.purpose, error=describe_failure(job.path, exc))
    if job.cancelled.is_set():
        return None
    if job.purpose != DISPLAY:
        return LoadResult(job.request_id, job.path, job.purpose, thumbnail=thumbnail)
    # Percentiles over megapixels: done here, not on the UI thread.
    return LoadResult(job.request_id, job.path, job.purpose, image=image,
                      presets=standard_presets(image), thumbnail=thumbnail)


class _Worker(QObject):
    finished = Signal(object)  # LoadResult

    def __init__(self, queue: JobQueue) -> None:
        super().__init__()
        self._queue = queue

    @Slot()
    def drain(self) -> None:
        while (job := self._queue.pop()) is not None:
            try:
                result = _scan(job) if job.purpose == SCAN else _load(job)
            finally:
                self._queue.done(job)
            if result is not None:
                self.finished.emit(result)


class ImageLoader(QObject):
    """Owns the loader thread. ``loaded`` carries every LoadResult that was not cancelled."""

    loaded = Signal(object)  # LoadResult
    _wake = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._queue = JobQueue()
        self._thread = QThread()
        self._thread.setObjectName("cxr-image-loader")
        self._worker = _Worker(self._queue)
        self._worker.moveToThread(self._thread)
        self._wake.connect(self._worker.drain)
        self._worker.finished.connect(self.loaded)
        self._closed = False
        app = QCoreApplication.instance()
        if app is not None:  # also stop cleanly when the app quits without closing the window
            app.aboutToQuit.connect(self.shutdown)
        self._thread.start()

    def request(self, path: Path, purpose: str = DISPLAY) -> int:
        """Queue a job; a display request supersedes any display request still waiting."""
        if self._closed:
            raise RuntimeError("loader is shut down")
        path = Path(path)
        if purpose == DISPLAY:
            self._queue.cancel(DISPLAY)
            self._queue.drop_thumbnail(path)
        request_id = next(self._ids)
        self._queue.put(Job(request_id, path, purpose))
        self._wake.emit()
        return request_id

    def cancel_pending(self) -> None:
        """Drop every waiting job and flag the running one; its result will not be reported."""
        self._queue.cancel()

    def busy(self) -> bool:
        return self._queue.pending() > 0

    def shutdown(self) -> None:
        """Cancel everything, let a decode in progress finish, and stop the thread."""
        if self._closed:
            return
        self._closed = True
        self._queue.cancel()
        self._thread.quit()
        if not self._thread.wait(_SHUTDOWN_WAIT_MS):
            log.error("image loader did not stop within %d s", _SHUTDOWN_WAIT_MS // 1000)
        self._worker.deleteLater()

    def is_running(self) -> bool:
        return self._thread.isRunning()
