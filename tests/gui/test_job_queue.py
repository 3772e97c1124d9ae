"""The loader's queue: what runs first and what cancelling does (no Qt needed)."""

from __future__ import annotations

from pathlib import Path

from cxrviewer.gui.job_queue import DISPLAY, SCAN, THUMBNAIL, Job, JobQueue


def _job(n: int, purpose: str) -> Job:
    return Job(n, Path(f"/images/{n}.dcm"), purpose)


def test_display_then_scan_then_thumbnails_each_in_order():
    queue = JobQueue()
    jobs = [_job(1, THUMBNAIL), _job(2, SCAN), _job(3, THUMBNAIL), _job(4, DISPLAY), _job(5, SCAN)]
    for job in jobs:
        queue.put(job)
    order = []
    while (job := queue.pop()) is not None:
        order.append(job.request_id)
        queue.done(job)
    assert order == [4, 2, 5, 1, 3]
    assert queue.pending() == 0


def test_cancel_drops_waiting_jobs_and_flags_the_running_one():
    queue = JobQueue()
    running, waiting, thumb = _job(1, DISPLAY), _job(2, DISPLAY), _job(3, THUMBNAIL)
    for job in (running, waiting, thumb):
        queue.put(job)
    assert queue.pop() is running
    queue.cancel(DISPLAY)
    assert running.cancelled.is_set() and waiting.cancelled.is_set()
    assert not thumb.cancelled.is_set()
    assert queue.pending() == 2  # the running display job and the thumbnail
    queue.done(running)
    assert queue.pop() is thumb


def test_a_display_job_replaces_the_thumbnail_job_for_its_file():
    queue = JobQueue()
    thumb = _job(1, THUMBNAIL)
    queue.put(thumb)
    queue.drop_thumbnail(thumb.path)
    assert thumb.cancelled.is_set() and queue.pop() is None
