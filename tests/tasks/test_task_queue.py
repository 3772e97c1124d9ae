"""The shared task layer: lane order, latest wins, bounds, groups, back-pressure, cancellation, stop."""

from __future__ import annotations

import threading

import pytest

from cxrviewer.tasks.queue import Lane, Policy, QueueFullError, TaskQueue

LANES = (Lane("now", Policy.LATEST_WINS), Lane("soon", max_waiting=2), Lane("batches", Policy.GROUPS, max_waiting=1))


def drain(queue: TaskQueue) -> list:
    out = []
    while (task := queue.try_take()) is not None:
        out.append("end" if task.is_group_end else task.payload)
        queue.done(task)
    return out


def test_higher_lanes_first_groups_one_item_at_a_time_then_their_end():
    queue = TaskQueue(LANES)
    queue.put_group("batches", ["b1", "b2"])
    queue.put("soon", "s1")
    queue.put("now", "n1")
    queue.put("soon", "s2")
    assert drain(queue) == ["n1", "s1", "s2", "b1", "b2", "end"]
    assert queue.pending() == 0


def test_latest_wins_cancels_the_waiting_and_the_running_task():
    queue = TaskQueue(LANES)
    first = queue.put("now", 1)
    assert queue.try_take() is first
    second = queue.put("now", 2)
    third = queue.put("now", 3)
    assert first.is_cancelled() and second.is_cancelled() and not third.is_cancelled()
    assert queue.try_take() is third


def test_bounded_lanes_push_back_on_the_submitter():
    queue = TaskQueue(LANES)
    queue.put("soon", 1)
    queue.put("soon", 2)
    with pytest.raises(QueueFullError, match="2 tasks are already waiting"):
        queue.put("soon", 3)
    queue.put_group("batches", [1])
    with pytest.raises(QueueFullError, match="batches"):
        queue.put_group("batches", [2])
    with pytest.raises(ValueError):
        queue.put("batches", 1)
    with pytest.raises(KeyError):
        queue.put("later", 1)


def test_a_cancelled_group_skips_its_items_and_still_ends():
    queue = TaskQueue(LANES)
    group = queue.put_group("batches", [1, 2, 3], state="job-7")
    item = queue.try_take()
    queue.cancel("batches", where=lambda state: state == "job-7")
    assert item.is_cancelled()  # the running item sees its group's cancellation
    end = queue.try_take()
    assert end.is_group_end and end.group is group and queue.try_take() is None


def test_undelivered_results_hold_groups_back_but_not_other_lanes():
    queue = TaskQueue(LANES, max_undelivered=1)
    queue.put_group("batches", [1, 2])
    assert queue.try_take().payload == 1
    queue.reported()
    assert queue.try_take() is None  # waiting for the consumer
    queue.put("soon", "urgent")
    assert queue.try_take().payload == "urgent"
    queue.delivered()
    assert queue.try_take().payload == 2


def test_stop_wakes_a_blocked_taker_and_cancels_everything():
    queue = TaskQueue(LANES)
    got = []
    taker = threading.Thread(target=lambda: got.append(queue.take()), name="taker")
    taker.start()
    waiting = queue.put("soon", 1)
    taker.join(5)
    assert got[0] is waiting
    blocked = threading.Thread(target=lambda: got.append(queue.take()), name="blocked")
    blocked.start()
    queue.put("soon", 2)
    blocked.join(5)
    queue.stop()
    assert queue.take() is None and queue.try_take() is None
