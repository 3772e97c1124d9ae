"""PACS network work off the UI thread: one TaskThread on a TaskQueue (cxrviewer.tasks), like the loader.

Jobs are the plain dataclasses of cxrviewer.pacs.jobs; what they yield (frozen dataclasses)
comes back on ``message`` through the thread's queued signal. One lane, first in first
out, a few jobs at most waiting. ``cancel(job_id)`` is cooperative (a retrieval stops
between studies); ``shutdown()`` waits for the request in flight, which every node's
time-out bounds; the thread is never terminated.
"""

from __future__ import annotations

import itertools
import threading

from PySide6.QtCore import QCoreApplication, QObject, Signal

from cxrviewer.tasks.qt_thread import TaskThread
from cxrviewer.tasks.queue import Lane, Task, TaskQueue

LANE = "pacs"
MAX_WAITING = 4
_SHUTDOWN_WAIT_MS = 120_000  # the longest a node's time-outs can keep one request going, and then some


class PacsWorker(QObject):
    message = Signal(object)  # StudiesFound, RetrieveProgress, StudyRetrieved, StudyFailed, ...

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._queue = TaskQueue([Lane(LANE, max_waiting=MAX_WAITING)])
        self._thread = TaskThread("cxr-pacs", self._queue.take, self._handle, finish=self._queue.done)
        self._thread.emitted.connect(self.message)
        self._closed = False
        self._cancelled: set[int] = set()
        self._lock = threading.Lock()
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        self._thread.start()

    def submit(self, job) -> int:
        """Queue a job; returns its id (QueueFullError when MAX_WAITING jobs already wait)."""
        if self._closed:
            raise RuntimeError("the PACS worker is shut down")
        job_id = next(self._ids)
        self._queue.put(LANE, (job_id, job))
        return job_id

    def cancel(self, job_id: int) -> None:
        """Ask a job to stop. It stays queued, so a retrieval always reports how it finished."""
        with self._lock:
            self._cancelled.add(job_id)

    def busy(self) -> bool:
        return self._queue.pending() > 0

    def is_running(self) -> bool:
        return self._thread.isRunning()

    def shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._thread.stop_and_wait(self._queue.stop, _SHUTDOWN_WAIT_MS)

    def _handle(self, task: Task):
        # Imported on this thread at the first job: pydicom and pynetdicom cost about half a
        # second, which the window no longer waits for at start-up.
        from cxrviewer.pacs.jobs import run_job

        job_id, job = task.payload

        def cancelled() -> bool:
            with self._lock:
                return task.is_cancelled() or job_id in self._cancelled

        try:
            yield from run_job(job_id, job, cancelled)
        finally:
            with self._lock:
                self._cancelled.discard(job_id)
