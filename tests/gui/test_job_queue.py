"""The loader's lanes on the shared TaskQueue: what runs first and what cancelling does (no Qt needed)."""

from __future__ import annotations

from pathlib import Path

from cxrviewer.gui.loader import DISPLAY, LANES, SCAN, THUMBNAIL, Job
from cxrviewer.tasks.queue import TaskQueue


def _put(queue: TaskQueue, n: int, purpose: str):
    return queue.put(purpose, Job(n, Path(f"/images/{n}.dcm"), purpose))


def test_display_then_scan_then_thumbnails_each_in_order():
    queue = TaskQueue(LANES)
    for n, purpose in ((1, THUMBNAIL), (2, SCAN), (3, THUMBNAIL), (4, DISPLAY), (5, SCAN)):
        _put(queue, n, purpose)
    order = []
    while (task := queue.try_take()) is not None:
        order.append(task.payload.request_id)
        queue.done(task)
    assert order == [4, 2, 5, 1, 3]
    assert queue.pending() == 0


def test_a_new_display_job_cancels_the_running_and_the_waiting_one():
    queue = TaskQueue(LANES)
    running = _put(queue, 1, DISPLAY)
    thumb = _put(queue, 3, THUMBNAIL)
    assert queue.try_take() is running
    waiting = _put(queue, 2, DISPLAY)
    assert running.is_cancelled() and not thumb.is_cancelled()
    newest = _put(queue, 4, DISPLAY)
    assert waiting.is_cancelled() and not newest.is_cancelled()
    assert queue.pending() == 3  # the running (cancelled) display job, the newest one and the thumbnail
    queue.done(running)
    assert queue.try_take() is newest
    assert queue.try_take() is thumb


def test_cancel_drops_waiting_jobs_of_a_lane_and_flags_the_running_one():
    queue = TaskQueue(LANES)
    running, scan = _put(queue, 1, DISPLAY), _put(queue, 2, SCAN)
    thumb = _put(queue, 3, THUMBNAIL)
    assert queue.try_take() is running
    queue.cancel(DISPLAY)
    queue.cancel(SCAN)
    assert running.is_cancelled() and scan.is_cancelled() and not thumb.is_cancelled()
    queue.done(running)
    assert queue.try_take() is thumb


def test_a_display_job_replaces_the_thumbnail_job_for_its_file():
    queue = TaskQueue(LANES)
    thumb = _put(queue, 1, THUMBNAIL)
    other = _put(queue, 2, THUMBNAIL)
    queue.cancel(THUMBNAIL, where=lambda job: job.path == thumb.payload.path)
    assert thumb.is_cancelled() and not other.is_cancelled()
    assert queue.try_take() is other and queue.try_take() is None
