"""The worker thread's to-do list: a "latest wins" slot, a bounded batch queue, commands.

Thread-safe, no Qt, no torch. The worker thread calls ``take()``, which blocks
until there is something to do, in this order: stop, a command (model load),
the interactive request, the next image of the oldest batch.

Bounds and back-pressure
------------------------
* Interactive: one slot. A new request replaces the waiting one and cancels
  the running one (cooperatively: the engine checks between steps), so the
  viewer never works on an image the reader has left.
* Batches: at most ``MAX_PENDING_BATCHES`` batches waiting or running;
  ``put_batch`` raises ``QueueFullError`` beyond that. A batch holds only its
  list of request records; images are decoded one at a time.
* Results: at most ``MAX_UNDELIVERED`` batch results may be on their way to
  the UI thread; the worker waits (stop and cancel still wake it) until the UI
  acknowledges with ``delivered()``. A slow UI therefore slows the batch
  instead of piling up results (and their CAM arrays) in the Qt event queue.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .requests import BatchProgress, InferenceRequest

MAX_PENDING_BATCHES = 8
MAX_UNDELIVERED = 4


class Command(Enum):
    """What the worker thread does besides analysing images (a typo is an AttributeError, not a no-op)."""

    LOAD_MODEL = "load_model"
    FINISH_BATCH = "finish_batch"


class QueueFullError(RuntimeError):
    """Too many batches are waiting; the message says so in plain words."""


@dataclass(eq=False)
class BatchJob:
    batch_id: int
    requests: tuple[InferenceRequest, ...]
    next_index: int = 0
    done: int = 0
    failed: int = 0
    cancelled: threading.Event = field(default_factory=threading.Event)

    def progress(self, finished: bool = False) -> BatchProgress:
        return BatchProgress(self.batch_id, self.done, self.failed, len(self.requests),
                             finished=finished, cancelled=self.cancelled.is_set())


@dataclass(eq=False)
class Work:
    """One unit for the worker thread: a request (maybe of a batch) or a command."""

    request: InferenceRequest | None = None
    batch: BatchJob | None = None
    command: tuple[Command, Any] | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)

    def is_cancelled(self) -> bool:
        return self.cancelled.is_set() or (self.batch is not None and self.batch.cancelled.is_set())


class WorkQueue:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._commands: deque[tuple[Command, Any]] = deque()
        self._interactive: Work | None = None
        self._running: Work | None = None
        self._batches: deque[BatchJob] = deque()
        self._undelivered = 0
        self._stopped = False

    def put_command(self, name: Command, argument: Any) -> None:
        with self._cond:
            self._commands.append((name, argument))
            self._cond.notify_all()

    def put_interactive(self, request: InferenceRequest) -> None:
        with self._cond:
            self._cancel_interactive_locked()
            self._interactive = Work(request=request)
            self._cond.notify_all()

    def put_batch(self, job: BatchJob) -> None:
        with self._cond:
            if len(self._batches) >= MAX_PENDING_BATCHES:
                raise QueueFullError(
                    f"{MAX_PENDING_BATCHES} batches are already waiting; wait for one to finish or cancel one"
                )
            self._batches.append(job)
            self._cond.notify_all()

    def cancel_interactive(self) -> None:
        with self._cond:
            self._cancel_interactive_locked()

    def cancel_batch(self, batch_id: int | None = None) -> None:
        """Cancel one batch (None: all). Its remaining images are skipped; it reports finished."""
        with self._cond:
            for job in self._batches:
                if batch_id is None or job.batch_id == batch_id:
                    job.cancelled.set()
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cancel_interactive_locked()
            for job in self._batches:
                job.cancelled.set()
            self._cond.notify_all()

    def delivered(self) -> None:
        """The UI thread has received one batch result or error."""
        with self._cond:
            self._undelivered = max(0, self._undelivered - 1)
            self._cond.notify_all()

    def take(self) -> Work | None:
        """Block until there is work; None means stop."""
        with self._cond:
            while True:
                self._running = None
                if self._stopped:
                    return None
                work = self._next_locked()
                if work is not None:
                    self._running = work
                    return work
                self._cond.wait()

    def item_reported(self) -> None:
        """The worker thread emitted a batch result or error (counts against the window)."""
        with self._cond:
            self._undelivered += 1

    def pending(self) -> int:
        with self._cond:
            queued = sum(len(j.requests) - j.next_index for j in self._batches if not j.cancelled.is_set())
            return len(self._commands) + (self._interactive is not None) + queued + (self._running is not None)

    def _next_locked(self) -> Work | None:
        if self._commands:
            return Work(command=self._commands.popleft())
        if self._interactive is not None:
            work, self._interactive = self._interactive, None
            return work
        return self._next_batch_item_locked()

    def _next_batch_item_locked(self) -> Work | None:
        while self._batches:
            job = self._batches[0]
            if job.cancelled.is_set() or job.next_index >= len(job.requests):
                self._batches.popleft()
                return Work(command=(Command.FINISH_BATCH, job))
            if self._undelivered >= MAX_UNDELIVERED:
                return None  # back-pressure: wait for delivered()
            job.next_index += 1
            return Work(request=job.requests[job.next_index - 1], batch=job)
        return None

    def _cancel_interactive_locked(self) -> None:
        self._interactive = None
        running = self._running
        if running is not None and running.request is not None and running.batch is None:
            running.cancelled.set()
