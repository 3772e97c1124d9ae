"""Decoding off the UI thread.

One worker QObject lives in one QThread. Jobs sit in a lock-protected queue;
the worker always takes a display job before a thumbnail job, so the image the
reader asked for is never stuck behind a folder's worth of previews. Results
come back as plain frozen dataclasses through a queued signal.

Cancellation is cooperative: cancelled jobs are dropped from the queue, and a
job already decoding checks its flag before the (costly) thumbnail and before
reporting. A decode in progress cannot be interrupted (pydicom has no hook),
so shutdown waits for it; the thread is never terminated.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from cxrviewer.imaging.windowing import standard_presets
from cxrviewer.io import ImageLoadError, LoadedImage, Window, load_image

from .thumbnails import make_thumbnail

log = logging.getLogger(__name__)

DISPLAY = "display"
THUMBNAIL = "thumbnail"
_SHUTDOWN_WAIT_MS = 30_000


@dataclass(frozen=True, eq=False)
class LoadResult:
    """What the worker hands back: an image and its preview, or a message for people."""

    request_id: int
    path: Path
    purpose: str  # DISPLAY or THUMBNAIL
    image: LoadedImage | None = None
    presets: tuple[Window, ...] = ()  # the five standard windows, for display results
    thumbnail: np.ndarray | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(eq=False)
class _Job:
    request_id: int
    path: Path
    purpose: str
    cancelled: threading.Event = field(default_factory=threading.Event)


def describe_failure(path: Path, exc: BaseException) -> str:
    if isinstance(exc, ImageLoadError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return f"{path.name}: not enough memory to open this image"
    return f"{path.name}: could not be opened ({type(exc).__name__})"


class _Worker(QObject):
    finished = Signal(object)  # LoadResult

    def __init__(self, queue: _JobQueue) -> None:
        super().__init__()
        self._queue = queue

    @Slot()
    def drain(self) -> None:
        while (job := self._queue.pop()) is not None:
            result = self._run(job)
            self._queue.done(job)
            if result is not None:
                self.finished.emit(result)

    def _run(self, job: _Job) -> LoadResult | None:
        try:
            image = load_image(job.path)
            if job.cancelled.is_set():
                return None
            thumbnail = make_thumbnail(image)
        except Exception as exc:  # any failure is reported, never raised into Qt
            message = describe_failure(job.path, exc)
            log.info("load failed: %s", type(exc).__name__)
            log.debug("load failure detail", exc_info=True)
            return LoadResult(job.request_id, job.path, job.purpose, error=message)
        if job.cancelled.is_set():
            return None
        if job.purpose != DISPLAY:
            return LoadResult(job.request_id, job.path, job.purpose, thumbnail=thumbnail)
        # Percentiles over megapixels: done here, not on the UI thread.
        return LoadResult(job.request_id, job.path, job.purpose, image=image,
                          presets=standard_presets(image), thumbnail=thumbnail)


class _JobQueue:
    """Thread-safe queue: display jobs first, then thumbnails in submission order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._display: deque[_Job] = deque()
        self._thumbs: deque[_Job] = deque()
        self._running: _Job | None = None

    def put(self, job: _Job) -> None:
        with self._lock:
            (self._display if job.purpose == DISPLAY else self._thumbs).append(job)

    def drop_thumbnail(self, path: Path) -> None:
        """A display job for `path` brings its thumbnail too; no need to decode it twice."""
        with self._lock:
            for job in [j for j in self._thumbs if j.path == path]:
                job.cancelled.set()
                self._thumbs.remove(job)

    def pop(self) -> _Job | None:
        with self._lock:
            queue = self._display or self._thumbs
            self._running = queue.popleft() if queue else None
            return self._running

    def done(self, job: _Job) -> None:
        with self._lock:
            if self._running is job:
                self._running = None

    def cancel(self, purpose: str | None = None) -> None:
        with self._lock:
            queues = [self._display, self._thumbs] if purpose is None else (
                [self._display] if purpose == DISPLAY else [self._thumbs])
            for queue in queues:
                for job in queue:
                    job.cancelled.set()
                queue.clear()
            if self._running is not None and purpose in (None, self._running.purpose):
                self._running.cancelled.set()

    def pending(self) -> int:
        with self._lock:
            return len(self._display) + len(self._thumbs) + (self._running is not None)


class ImageLoader(QObject):
    """Owns the loader thread. ``loaded`` carries every LoadResult that was not cancelled."""

    loaded = Signal(object)  # LoadResult
    _wake = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._queue = _JobQueue()
        self._thread = QThread()
        self._thread.setObjectName("cxr-image-loader")
        self._worker = _Worker(self._queue)
        self._worker.moveToThread(self._thread)
        self._wake.connect(self._worker.drain)
        self._worker.finished.connect(self.loaded)
        self._thread.start()
        self._closed = False

    def request(self, path: Path, purpose: str = DISPLAY) -> int:
        """Queue a load; a display request supersedes any display request still waiting."""
        if self._closed:
            raise RuntimeError("loader is shut down")
        if purpose == DISPLAY:
            self._queue.cancel(DISPLAY)
            self._queue.drop_thumbnail(Path(path))
        request_id = next(self._ids)
        self._queue.put(_Job(request_id, Path(path), purpose))
        self._wake.emit()
        return request_id

    def cancel_thumbnails(self) -> None:
        self._queue.cancel(THUMBNAIL)

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
