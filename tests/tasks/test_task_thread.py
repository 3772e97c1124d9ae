"""TaskThread: messages arrive on the UI thread, a failing item does not end it, stop is cooperative."""

from __future__ import annotations

import pytest

from cxrviewer.tasks.queue import Lane, TaskQueue

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def test_messages_arrive_and_a_failing_item_is_survived(qtbot):
    from cxrviewer.tasks.qt_thread import TaskThread

    queue = TaskQueue([Lane("work")])
    exited = []

    def handle(task):
        if task.payload == "bad":
            raise RuntimeError("boom")
        if task.payload == "panic":
            raise BaseException("what pyo3's PanicException derives from")
        yield f"{task.payload}-a"
        yield f"{task.payload}-b"

    thread = TaskThread("cxr-test-tasks", queue.take, handle, finish=queue.done, on_exit=lambda: exited.append(1))
    received = []
    thread.emitted.connect(received.append)
    thread.start()
    try:
        queue.put("work", "one")
        queue.put("work", "bad")
        queue.put("work", "panic")
        queue.put("work", "two")
        qtbot.waitUntil(lambda: received == ["one-a", "one-b", "two-a", "two-b"], timeout=5000)
        assert queue.pending() == 0
    finally:
        queue.stop()
        assert thread.wait(5000)
    assert exited == [1]


def test_stop_and_wait_reports_a_handler_still_busy(qtbot, caplog):
    import threading

    from cxrviewer.tasks.qt_thread import TaskThread

    queue = TaskQueue([Lane("work")])
    started, release = threading.Event(), threading.Event()

    def handle(task):
        started.set()
        release.wait(10)
        return ()

    thread = TaskThread("cxr-test-busy", queue.take, handle, finish=queue.done)
    thread.start()
    queue.put("work", "slow")
    assert started.wait(5)
    assert thread.stop_and_wait(queue.stop, 50) is False  # busy: not terminated, only reported
    assert "cxr-test-busy did not stop" in caplog.text
    release.set()
    assert thread.stop_and_wait(queue.stop, 5000) is True
    assert not thread.isRunning()
