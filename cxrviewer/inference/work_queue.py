"""The worker thread's to-do list: a "latest wins" slot, a bounded batch queue, commands.

The inference lanes on the shared cxrviewer.tasks TaskQueue. Thread-safe, no Qt, no torch. The worker thread calls ``take()``, which blocks
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
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from cxrviewer.tasks.queue import Lane, Policy, QueueFullError, Task, TaskQueue

from .requests import BatchProgress, InferenceRequest

MAX_PENDING_BATCHES = 8
MAX_UNDELIVERED = 4

COMMANDS, INTERACTIVE, BATCHES = "commands", "interactive", "batches"
LANES = (Lane(COMMANDS), Lane(INTERACTIVE, Policy.LATEST_WINS),
         Lane(BATCHES, Policy.GROUPS, max_waiting=MAX_PENDING_BATCHES))

__all__ = ["MAX_PENDING_BATCHES", "MAX_UNDELIVERED", "BatchJob", "Command", "QueueFullError", "Work", "WorkQueue"]


class Command(Enum):
    """What the worker thread does besides analysing images (a typo is an AttributeError, not a no-op)."""

    LOAD_MODEL = "load_model"
    FINISH_BATCH = "finish_batch"


@dataclass(eq=False)
class BatchJob:
    batch_id: int
    requests: tuple[InferenceRequest, ...]
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
    task: Task | None = None

    def is_cancelled(self) -> bool:
        return self.task is not None and self.task.is_cancelled()


class WorkQueue:
    def __init__(self) -> None:
        self._tasks = TaskQueue(LANES, max_undelivered=MAX_UNDELIVERED)

    def put_command(self, name: Command, argument: Any) -> None:
        self._tasks.put(COMMANDS, (name, argument))

    def put_interactive(self, request: InferenceRequest) -> None:
        self._tasks.put(INTERACTIVE, request)

    def put_batch(self, job: BatchJob) -> None:
        self._tasks.put_group(BATCHES, job.requests, state=job)

    def cancel_interactive(self) -> None:
        self._tasks.cancel(INTERACTIVE)

    def cancel_batch(self, batch_id: int | None = None) -> None:
        """Cancel one batch (None: all). Its remaining images are skipped; it reports finished."""
        def chosen(job: BatchJob) -> bool:
            if batch_id is None or job.batch_id == batch_id:
                job.cancelled.set()
                return True
            return False

        self._tasks.cancel(BATCHES, where=chosen)

    def stop(self) -> None:
        self._tasks.stop()

    def delivered(self) -> None:
        """The UI thread has received one batch result or error."""
        self._tasks.delivered()

    def item_reported(self) -> None:
        """The worker thread emitted a batch result or error (counts against the window)."""
        self._tasks.reported()

    def take(self) -> Work | None:
        """Block until there is work; None means stop."""
        return _as_work(self._tasks.take())

    def pending(self) -> int:
        return self._tasks.pending()

    def _next_locked(self) -> Work | None:
        return _as_work(self._tasks.next_locked())


def _as_work(task: Task | None) -> Work | None:
    if task is None:
        return None
    if task.lane == COMMANDS:
        return Work(command=task.payload, task=task)
    job = task.group.state if task.group is not None else None
    if task.is_group_end:
        return Work(command=(Command.FINISH_BATCH, job), task=task)
    return Work(request=task.payload, batch=job, task=task)
