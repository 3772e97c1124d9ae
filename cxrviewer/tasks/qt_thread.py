"""TaskThread: the one Qt adapter for background work (superqt WorkerBase / napari slicer shape).

A QThread whose run() takes items from a queue until it says stop, hands each to a
plain-Python handler and emits whatever the handler yields (frozen dataclasses) on
one queued signal; the owner dispatches them by type on the UI thread. An exception
in the handler is logged and the loop goes on: one bad item never ends the thread.
Stopping is cooperative (the queue's stop(), then wait()); never terminate().
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import QThread, Signal

log = logging.getLogger(__name__)


class TaskThread(QThread):
    emitted = Signal(object)  # whatever the handler yields

    def __init__(self, name: str, take: Callable[[], Any | None], handle: Callable[[Any], Iterable[Any] | None],
                 finish: Callable[[Any], None] | None = None, on_exit: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.setObjectName(name)
        self._take, self._handle, self._finish, self._on_exit = take, handle, finish, on_exit

    def run(self) -> None:
        try:
            while (item := self._take()) is not None:
                try:
                    for message in self._handle(item) or ():
                        self.emitted.emit(message)
                except BaseException as exc:  # a bug in a handler must not kill the thread
                    if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
                        raise
                    # BaseException too: native libraries raise pyo3's PanicException.
                    log.exception("%s: unexpected failure", self.objectName())
                finally:
                    if self._finish is not None:
                        self._finish(item)
        finally:
            if self._on_exit is not None:
                self._on_exit()  # e.g. free the model in the thread that made it

    def stop_and_wait(self, stop_queue: Callable[[], None], timeout_ms: int) -> bool:
        """Cooperative stop: tell the queue, then wait. False (and logged) if the handler is still busy."""
        stop_queue()
        if self.wait(timeout_ms):
            return True
        log.error("%s did not stop within %d s", self.objectName(), timeout_ms // 1000)
        return False
