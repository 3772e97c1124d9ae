"""Decoding and folder walking off the UI thread.

A TaskThread (cxrviewer.tasks) takes jobs from a TaskQueue with five lanes: the
image the reader asked for first (latest wins: asking for another image cancels
it), then the frame of a multi-frame image asked for (latest wins too), its
neighbours decoded ahead, then folder scans, then list previews, so the wanted
image is never stuck behind a folder's worth of thumbnails. Results come back as plain frozen
dataclasses through the thread's queued signal.

Cancellation is cooperative: cancelled jobs leave the queue, a running decode
checks its token before the thumbnail and before reporting, and a folder scan
checks it between files. A decode in progress cannot be interrupted (pydicom
has no hook), so shutdown waits for it; the thread is never terminated.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, Signal

from cxrviewer.imaging.windowing import standard_presets
from cxrviewer.io import ImageLoadError, LoadedImage, Window
from cxrviewer.io.dicom_identity import ImageIdentity
from cxrviewer.io.sandbox import load_image_isolated

from cxrviewer.tasks.qt_thread import TaskThread
from cxrviewer.tasks.queue import CancelToken, Lane, Policy, Task, TaskQueue

from .file_discovery import expand_paths
from .thumbnails import make_thumbnail

log = logging.getLogger(__name__)

__all__ = ["DISPLAY", "FRAME", "FRAME_AHEAD", "SCAN", "THUMBNAIL", "ImageLoader", "LoadResult"]

DISPLAY = "display"  # the image the reader asked to see
SCAN = "scan"  # walk a folder for image files
THUMBNAIL = "thumbnail"  # a preview for the image list
FRAME = "frame"  # another frame of the multi-frame image on screen (latest wins, like DISPLAY)
FRAME_AHEAD = "frame_ahead"  # its neighbours, decoded ahead while the reader looks
FRAME_PURPOSES = (FRAME, FRAME_AHEAD)
# The reader's next frame comes before list previews: a neighbour frame is what they look at next.
LANES = (Lane(DISPLAY, Policy.LATEST_WINS), Lane(FRAME, Policy.LATEST_WINS), Lane(FRAME_AHEAD), Lane(SCAN),
         Lane(THUMBNAIL))

_SHUTDOWN_WAIT_MS = 30_000


@dataclass(frozen=True, eq=False)
class LoadResult:
    """What the worker hands back: an image and its preview, files found, or a message for people."""

    request_id: int
    path: Path
    purpose: str  # DISPLAY, SCAN, THUMBNAIL, FRAME or FRAME_AHEAD
    image: LoadedImage | None = None
    presets: tuple[Window, ...] = ()  # the five standard windows, for display results
    thumbnail: np.ndarray | None = None
    # Patient/study/series from the header, for previews (a display result's image carries its own).
    identity: ImageIdentity | None = None
    files: tuple[Path, ...] = ()  # for scan results
    skipped: tuple[tuple[Path, str], ...] = ()  # scan results: (entry, why it was left out)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Job:
    request_id: int
    path: Path
    purpose: str
    frame: int = 0  # 0-based, for FRAME and FRAME_AHEAD


def describe_failure(path: Path, exc: BaseException) -> str:
    if isinstance(exc, ImageLoadError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return f"{path.name}: not enough memory to open this image"
    return f"{path.name}: could not be opened ({type(exc).__name__})"


def _scan(job: Job, token: CancelToken) -> LoadResult | None:
    skipped: list[tuple[Path, str]] = []
    files = expand_paths([job.path], stop=token, on_skip=lambda path, why: skipped.append((path, why)))
    if token.is_cancelled():
        return None
    return LoadResult(job.request_id, job.path, SCAN, files=tuple(files), skipped=tuple(skipped))


def _load(job: Job, token: CancelToken) -> LoadResult | None:
    try:
        image = load_image_isolated(job.path, job.frame)  # a crashing decoder must not take the viewer down
        if token.is_cancelled():
            return None
        if job.purpose in FRAME_PURPOSES:
            return LoadResult(job.request_id, job.path, job.purpose, image=image)
        thumbnail = make_thumbnail(image)
    except Exception as exc:  # any failure is reported, never raised into Qt
        log.info("load failed: %s", type(exc).__name__)  # no path: it may name a patient
        log.debug("load failure detail", exc_info=True)
        return LoadResult(job.request_id, job.path, job.purpose, error=describe_failure(job.path, exc))
    if token.is_cancelled():
        return None
    if job.purpose != DISPLAY:
        return LoadResult(job.request_id, job.path, job.purpose, thumbnail=thumbnail, identity=image.identity)
    # Percentiles over megapixels: done here, not on the UI thread.
    return LoadResult(job.request_id, job.path, job.purpose, image=image,
                      presets=standard_presets(image), thumbnail=thumbnail)


def handle(task: Task) -> list[LoadResult]:
    """One job in the loader thread -> the results to report (none when cancelled)."""
    job: Job = task.payload
    result = _scan(job, task.token) if job.purpose == SCAN else _load(job, task.token)
    return [] if result is None else [result]


def _handle_and_finish(queue: TaskQueue):
    def run(task: Task) -> list[LoadResult]:
        try:
            return handle(task)
        finally:
            queue.done(task)  # before the result is sent: a window told "loaded" sees the loader idle

    return run


class ImageLoader(QObject):
    """Owns the loader thread. ``loaded`` carries every LoadResult that was not cancelled."""

    loaded = Signal(object)  # LoadResult

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._queue = TaskQueue(LANES)
        self._thread = TaskThread("cxr-image-loader", self._queue.take, _handle_and_finish(self._queue))
        self._thread.emitted.connect(self.loaded)
        self._closed = False
        app = QCoreApplication.instance()
        if app is not None:  # also stop cleanly when the app quits without closing the window
            app.aboutToQuit.connect(self.shutdown)
        self._thread.start()

    def request(self, path: Path, purpose: str = DISPLAY, frame: int = 0) -> int:
        """Queue a job; a display (or frame) request supersedes the one waiting or running."""
        if self._closed:
            raise RuntimeError("loader is shut down")
        path = Path(path)
        if purpose == DISPLAY:
            # A display job brings its thumbnail too; no need to decode the file twice.
            self._queue.cancel(THUMBNAIL, where=lambda job: job.path == path)
        request_id = next(self._ids)
        self._queue.put(purpose, Job(request_id, path, purpose, frame))
        return request_id

    def cancel_frames(self) -> None:
        """Drop the frame jobs waiting (the reader left that image); a running one is not reported."""
        for lane in FRAME_PURPOSES:
            self._queue.cancel(lane)

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
        self._thread.stop_and_wait(self._queue.stop, _SHUTDOWN_WAIT_MS)

    def is_running(self) -> bool:
        return self._thread.isRunning()
