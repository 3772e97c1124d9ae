"""TaskQueue: the one to-do list behind every background thread of the viewer. No Qt, no torch.

A queue has ordered *lanes*; ``take()`` blocks until there is work and returns the
first task of the highest lane that has one. Each lane has a policy:

* ``FIFO``: tasks in submission order, optionally bounded (``QueueFullError`` past
  ``max_waiting``: back-pressure on the submitter).
* ``LATEST_WINS``: one slot; a new task cancels the one waiting and the one running
  in that lane (the reader left that image; nobody wants its result).
* ``GROUPS``: each entry is a group of payloads handed out one at a time (a batch of
  images decoded one by one, never all at once), bounded in groups; after its last
  item, or once cancelled, the group yields one end task (``is_group_end``) so its
  owner can report it finished. With ``max_undelivered`` set, group items wait while
  that many results are on their way to the consumer (``reported``/``delivered``).

Cancellation is cooperative: a task carries a CancelToken (a group item also checks
its group's token) that the running code polls; nothing is ever killed.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Policy(Enum):
    FIFO = "fifo"
    LATEST_WINS = "latest_wins"
    GROUPS = "groups"


@dataclass(frozen=True)
class Lane:
    name: str
    policy: Policy = Policy.FIFO
    max_waiting: int | None = None  # tasks (FIFO) or groups (GROUPS) waiting; None: unbounded


class QueueFullError(RuntimeError):
    """A bounded lane is full; the message says so in plain words."""


class CancelToken:
    """A flag the running code polls; ``is_set`` lets it stand in for a threading.Event."""

    def __init__(self, parent: CancelToken | None = None) -> None:
        self._event = threading.Event()
        self._parent = parent

    def cancel(self) -> None:
        self._event.set()

    set = cancel  # threading.Event spelling

    def is_cancelled(self) -> bool:
        return self._event.is_set() or (self._parent is not None and self._parent.is_cancelled())

    is_set = is_cancelled


@dataclass(eq=False)
class TaskGroup:
    payloads: tuple[Any, ...]
    state: Any = None  # the owner's record (counts, ids): the queue never reads it
    token: CancelToken = field(default_factory=CancelToken)
    next_index: int = 0

    @property
    def remaining(self) -> int:
        return 0 if self.token.is_cancelled() else len(self.payloads) - self.next_index


@dataclass(eq=False)
class Task:
    lane: str
    payload: Any
    token: CancelToken = field(default_factory=CancelToken)
    group: TaskGroup | None = None
    is_group_end: bool = False
    task_id: int = 0

    def is_cancelled(self) -> bool:
        return self.token.is_cancelled()


class TaskQueue:
    def __init__(self, lanes: Sequence[Lane], max_undelivered: int | None = None) -> None:
        self.lanes = {lane.name: lane for lane in lanes}
        if len(self.lanes) != len(lanes):
            raise ValueError("lane names must be unique")
        self._waiting: dict[str, deque] = {lane.name: deque() for lane in lanes}
        self._cond = threading.Condition()
        self._running: Task | None = None
        self._undelivered = 0
        self._max_undelivered = max_undelivered
        self._stopped = False
        self._ids = itertools.count(1)

    # ----- submitting ----------------------------------------------------------------------------
    def put(self, lane: str, payload: Any) -> Task:
        spec = self._lane(lane, (Policy.FIFO, Policy.LATEST_WINS))
        with self._cond:
            self._check_room(spec)
            if spec.policy is Policy.LATEST_WINS:
                self._cancel_locked(lane)
            task = Task(lane, payload, task_id=next(self._ids))
            self._waiting[lane].append(task)
            self._cond.notify_all()
            return task

    def put_group(self, lane: str, payloads: Iterable[Any], state: Any = None) -> TaskGroup:
        spec = self._lane(lane, (Policy.GROUPS,))
        with self._cond:
            self._check_room(spec)
            group = TaskGroup(tuple(payloads), state)
            self._waiting[lane].append(group)
            self._cond.notify_all()
            return group

    def _lane(self, name: str, policies: tuple[Policy, ...]) -> Lane:
        spec = self.lanes.get(name)
        if spec is None:
            raise KeyError(f"no lane {name!r}; lanes: {', '.join(self.lanes)}")
        if spec.policy not in policies:
            raise ValueError(f"lane {name!r} is {spec.policy.value}; use put_group for groups, put otherwise")
        return spec

    def _check_room(self, spec: Lane) -> None:
        waiting = [e for e in self._waiting[spec.name] if not _entry_cancelled(e)]
        if spec.max_waiting is not None and len(waiting) >= spec.max_waiting:
            kind = "batches" if spec.policy is Policy.GROUPS else "tasks"
            raise QueueFullError(f"{spec.max_waiting} {kind} are already waiting; wait for one to finish or cancel one")

    # ----- cancelling ----------------------------------------------------------------------------
    def cancel(self, lane: str | None = None, where: Callable[[Any], bool] | None = None) -> None:
        """Cancel waiting and running work of ``lane`` (None: every lane) whose payload (or group
        state) passes ``where`` (None: all). Cancelled groups still yield their end task."""
        with self._cond:
            self._cancel_locked(lane, where)
            self._cond.notify_all()

    def _cancel_locked(self, lane: str | None = None, where: Callable[[Any], bool] | None = None) -> None:
        for name, waiting in self._waiting.items():
            if lane not in (None, name):
                continue
            groups = self.lanes[name].policy is Policy.GROUPS
            for entry in list(waiting):
                if where is None or where(entry.state if groups else entry.payload):
                    entry.token.cancel()
                    if not groups:
                        waiting.remove(entry)
        running = self._running
        if running is not None and running.group is None and lane in (None, running.lane):
            if where is None or where(running.payload):
                running.token.cancel()

    def stop(self) -> None:
        """``take`` returns None from now on; everything waiting or running is cancelled."""
        with self._cond:
            self._stopped = True
            self._cancel_locked()
            self._cond.notify_all()

    # ----- the worker side -----------------------------------------------------------------------
    def take(self) -> Task | None:
        """Block until there is a task; None means stop."""
        with self._cond:
            while True:
                self._running = None
                if self._stopped:
                    return None
                task = self.next_locked()
                if task is not None:
                    self._running = task
                    return task
                self._cond.wait()

    def try_take(self) -> Task | None:
        """A task if one is ready now, else None (never blocks)."""
        with self._cond:
            self._running = None
            task = None if self._stopped else self.next_locked()
            self._running = task
            return task

    def done(self, task: Task) -> None:
        with self._cond:
            if self._running is task:
                self._running = None
                self._cond.notify_all()

    def reported(self) -> None:
        """The worker sent one group result toward the consumer (counts against max_undelivered)."""
        with self._cond:
            self._undelivered += 1

    def delivered(self) -> None:
        """The consumer received one group result."""
        with self._cond:
            self._undelivered = max(0, self._undelivered - 1)
            self._cond.notify_all()

    def pending(self) -> int:
        """Tasks waiting (group items counted one by one) plus the one running."""
        with self._cond:
            count = 0
            for name, waiting in self._waiting.items():
                if self.lanes[name].policy is Policy.GROUPS:
                    count += sum(g.remaining for g in waiting)
                else:
                    count += len(waiting)
            return count + (self._running is not None)

    def next_locked(self) -> Task | None:
        """The next task by lane order, or None (only for callers holding the lock: tests, take)."""
        for name, waiting in self._waiting.items():
            if self.lanes[name].policy is not Policy.GROUPS:
                if waiting:
                    return waiting.popleft()
                continue
            task = self._next_group_item(name, waiting)
            if task is not None:
                return task
        return None

    def _next_group_item(self, name: str, waiting: deque) -> Task | None:
        while waiting:
            group = waiting[0]
            if group.remaining == 0:
                waiting.popleft()
                return Task(name, None, group.token, group=group, is_group_end=True, task_id=next(self._ids))
            if self._max_undelivered is not None and self._undelivered >= self._max_undelivered:
                return None  # back-pressure: wait for delivered()
            group.next_index += 1
            payload = group.payloads[group.next_index - 1]
            return Task(name, payload, CancelToken(group.token), group=group, task_id=next(self._ids))
        return None


def _entry_cancelled(entry) -> bool:
    return entry.token.is_cancelled()
