"""The loader's thread-safe job queue, with priorities and cooperative cancellation."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

DISPLAY = "display"  # the image the reader asked to see
SCAN = "scan"  # walk a folder for image files
THUMBNAIL = "thumbnail"  # a preview for the image list
PRIORITY = (DISPLAY, SCAN, THUMBNAIL)


@dataclass(eq=False)
class Job:
    request_id: int
    path: Path
    purpose: str
    cancelled: threading.Event = field(default_factory=threading.Event)


class JobQueue:
    """Display jobs first, then folder scans, then thumbnails, each in submission order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, deque[Job]] = {purpose: deque() for purpose in PRIORITY}
        self._running: Job | None = None

    def put(self, job: Job) -> None:
        with self._lock:
            self._queues[job.purpose].append(job)

    def pop(self) -> Job | None:
        with self._lock:
            queue = next((q for q in self._queues.values() if q), None)
            self._running = queue.popleft() if queue else None
            return self._running

    def done(self, job: Job) -> None:
        with self._lock:
            if self._running is job:
                self._running = None

    def drop_thumbnail(self, path: Path) -> None:
        """A display job for `path` brings its thumbnail too; no need to decode it twice."""
        with self._lock:
            thumbs = self._queues[THUMBNAIL]
            for job in [j for j in thumbs if j.path == path]:
                job.cancelled.set()
                thumbs.remove(job)

    def cancel(self, purpose: str | None = None) -> None:
        """Drop waiting jobs of one purpose (all if None) and flag a running one to stop."""
        with self._lock:
            for name, queue in self._queues.items():
                if purpose in (None, name):
                    for job in queue:
                        job.cancelled.set()
                    queue.clear()
            if self._running is not None and purpose in (None, self._running.purpose):
                self._running.cancelled.set()

    def pending(self) -> int:
        with self._lock:
            return sum(map(len, self._queues.values())) + (self._running is not None)
