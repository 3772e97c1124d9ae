"""The worker's queue on its own: priorities, latest wins, bounds and back-pressure."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxrviewer.inference.requests import InferenceRequest
from cxrviewer.inference.work_queue import MAX_PENDING_BATCHES, MAX_UNDELIVERED, BatchJob, Command, QueueFullError, WorkQueue


def _request(i: int, batch_id: int | None = None) -> InferenceRequest:
    return InferenceRequest(i, path=Path(f"image{i}.png"), batch_id=batch_id)


def _batch(batch_id: int, size: int) -> BatchJob:
    return BatchJob(batch_id, tuple(_request(batch_id * 100 + i, batch_id) for i in range(size)))


def test_commands_then_interactive_then_batch():
    queue = WorkQueue()
    queue.put_batch(_batch(1, 1))
    queue.put_interactive(_request(7))
    queue.put_command(Command.LOAD_MODEL, Path("m"))
    assert queue.take().command == (Command.LOAD_MODEL, Path("m"))
    assert queue.take().request.request_id == 7
    assert queue.take().request.request_id == 100
    assert queue.take().command[0] is Command.FINISH_BATCH


def test_latest_interactive_wins_and_the_running_one_is_cancelled():
    queue = WorkQueue()
    queue.put_interactive(_request(1))
    running = queue.take()
    queue.put_interactive(_request(2))
    queue.put_interactive(_request(3))
    assert running.is_cancelled()
    assert queue.take().request.request_id == 3
    assert queue.pending() == 1  # only the one now running


def test_too_many_batches_are_refused():
    queue = WorkQueue()
    for i in range(MAX_PENDING_BATCHES):
        queue.put_batch(_batch(i + 1, 2))
    with pytest.raises(QueueFullError, match="already waiting"):
        queue.put_batch(_batch(99, 2))


def test_undelivered_results_hold_the_batch_back():
    queue = WorkQueue()
    queue.put_batch(_batch(1, MAX_UNDELIVERED + 2))
    for _ in range(MAX_UNDELIVERED):
        assert queue.take().batch is not None
        queue.item_reported()
    assert queue._next_locked() is None  # the window is full: the worker would wait here
    queue.delivered()
    assert queue.take().request.request_id == 100 + MAX_UNDELIVERED


def test_cancel_batch_skips_the_rest_and_finishes_it():
    queue = WorkQueue()
    job = _batch(1, 5)
    queue.put_batch(job)
    first = queue.take()
    queue.cancel_batch(1)
    assert first.is_cancelled()
    finish = queue.take()
    assert finish.command == (Command.FINISH_BATCH, job)
    assert job.progress(finished=True).cancelled


def test_stop_ends_take_even_with_work_waiting():
    queue = WorkQueue()
    queue.put_batch(_batch(1, 3))
    queue.stop()
    assert queue.take() is None
