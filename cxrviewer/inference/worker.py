"""InferenceWorker: the AI second reader on one long-lived QThread (Qt, no torch).

How the window uses it
----------------------
::

    worker = InferenceWorker(model_dir=None, device="auto", parent=window)  # None: bundled model
    worker.model_loaded.connect(...)    # ModelInfo: labels, device_name ("CPU (...)", GPU name)
    worker.model_failed.connect(...)    # ModelLoadFailure: message; .current is the model kept
    worker.result.connect(...)          # InferenceResult (fresh results only)
    worker.error.connect(...)           # InferenceError: request_id, path, plain message
    worker.request_started.connect(...) # request id of the interactive request now running
    worker.batch_progress.connect(...)  # BatchProgress after every image of a batch
    worker.batch_finished.connect(...)  # BatchProgress(finished=True, cancelled=...)
    worker.start()                      # returns at once; the model loads in the thread

    rid = worker.submit(loaded_image, cam=True, cam_method="gradcam", target=None)
    # methods for a menu: cxrviewer.model.cam_options.CAM_METHODS / CAM_METHOD_TITLES (no torch)
    # target: None (predicted class), a label from ModelInfo.labels, or its index
    bid = worker.submit_batch(paths, cam=False)      # triage a folder; QueueFullError if too many
    worker.cancel_batch(bid); worker.cancel_interactive()
    worker.load_model(other_dir)        # refused -> model_failed, the current model stays
    worker.close()                      # in closeEvent; bounded wait, safe twice

Showing a result: ``result.cam`` is float32 (H, W) in [0, 1] on the same pixel
grid as ``LoadedImage.pixels``, so the overlay item takes the base image's
transform unchanged (rotate/flip included); colour-map it and make weak values
transparent (cxrviewer.model.cam_render does the same for ``cxr predict`` PNGs,
without Qt). Show ``uncertain`` and ``ood_flag`` with the label: a map on an
out-of-distribution image (``ood_flag``) explains a reading that should not be
trusted. Results say "research use only, not for diagnosis" wherever shown.

Interactive requests are "latest wins": ``submit`` cancels the previous one and
a result for anything but the latest interactive id is dropped before it
reaches ``result``. Batch images queue behind the interactive slot, so the image
on screen is analysed first; see work_queue for the bounds and back-pressure.
Requests made before the model has loaded wait for it; if no model could be
loaded they fail with an ``error`` that says so.

Threading
---------
The work runs on the shared task layer (cxrviewer.tasks): a TaskQueue with a
command lane, a latest-wins interactive lane and a bounded batch lane, and one
TaskThread. Its handler (_InferenceRunner, no Qt) imports cxrviewer.inference.engine
(and so torch) with importlib in the thread: nothing here imports torch, so the
window appears first and import-linter's "widgets import no torch" contract
holds. Every exception in the thread becomes an ``error`` or ``model_failed``
message; the loop goes on. Messages are frozen dataclasses on one queued signal,
dispatched by type on the UI thread. Stopping is
cooperative (a running forward pass finishes); the thread is never terminated.
"""

from __future__ import annotations

import importlib
import itertools
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, Slot

from cxrviewer.io.image import LoadedImage
from cxrviewer.resources import bundled_model_dir

from cxrviewer.tasks.qt_thread import TaskThread

from .messages import describe_failure, describe_model_failure
from .requests import (
    DEFAULT_CAM_METHOD,
    BatchProgress,
    InferenceError,
    InferenceRequest,
    InferenceResult,
    ModelInfo,
    ModelLoadFailure,
    RequestStarted,
)
from .work_queue import BatchJob, Command, Work, WorkQueue

log = logging.getLogger(__name__)

ENGINE_MODULE = "cxrviewer.inference.engine"  # imported by name, in the worker thread only
CLOSE_WAIT_MS = 30_000
NO_MODEL_MESSAGE = "No AI model is loaded, so the image was not analysed (see the model message)."
_orphans: set[QThread] = set()  # threads that outlived close(); kept alive until they end


class _InferenceRunner:
    """Owns the engine, in the worker thread only; turns each Work into plain messages (no Qt)."""

    def __init__(self, queue: WorkQueue, device: str) -> None:
        self._queue = queue
        self._device = device
        self._engine = None  # InferenceEngine, created and used only in the worker thread
        self._engine_module = None

    def handle(self, work: Work) -> Iterator[object]:
        if work.command is not None:
            name, argument = work.command
            if name is Command.LOAD_MODEL:
                yield self._load(argument)
            elif name is Command.FINISH_BATCH:
                yield argument.progress(finished=True)
            return
        yield from self._analyse(work)

    def release(self) -> None:
        self._engine = None  # free the model (and GPU memory) in the thread that made it

    def _load(self, model_dir: Path) -> ModelInfo | ModelLoadFailure:
        try:
            module = self._engine_module or importlib.import_module(ENGINE_MODULE)
            self._engine_module = module
            engine = module.InferenceEngine.load(model_dir, device=self._device)
        except Exception as exc:
            log.warning("model refused: %s", type(exc).__name__)
            current = None if self._engine is None else self._engine.info
            return ModelLoadFailure(model_dir, describe_model_failure(exc, model_dir), current)
        self._engine = engine
        return engine.info

    def _analyse(self, work: Work) -> Iterator[object]:
        request = work.request
        if work.batch is None:
            yield RequestStarted(request.request_id)
        if self._engine is None:
            yield from self._report(work, InferenceError(request.request_id, request.path, NO_MODEL_MESSAGE,
                                                         request.batch_id))
            return
        try:
            result = self._engine.run(request, cancelled=work.is_cancelled)
        except Exception as exc:
            log.info("request %d failed: %s", request.request_id, type(exc).__name__)
            log.debug("failure detail", exc_info=True)
            message = describe_failure(exc, request.path)
            yield from self._report(work, InferenceError(request.request_id, request.path, message, request.batch_id))
            return
        if result is not None and not work.is_cancelled():
            yield from self._report(work, result)

    def _report(self, work: Work, item: InferenceResult | InferenceError) -> Iterator[object]:
        job = work.batch
        if job is not None:
            job.done += 1
            job.failed += int(isinstance(item, InferenceError))
            self._queue.item_reported()
        yield item
        if job is not None:
            yield job.progress()


class InferenceWorker(QObject):
    """The window's handle on the inference thread. Create, connect, ``start()``, ``close()``."""

    result = Signal(object)  # InferenceResult
    error = Signal(object)  # InferenceError
    request_started = Signal(int)
    batch_progress = Signal(object)  # BatchProgress
    batch_finished = Signal(object)  # BatchProgress with finished=True
    model_loaded = Signal(object)  # ModelInfo
    model_failed = Signal(object)  # ModelLoadFailure

    def __init__(self, model_dir: str | Path | None = None, device: str = "auto",
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._initial_dir = Path(model_dir) if model_dir is not None else bundled_model_dir()
        self._ids = itertools.count(1)
        self._latest_interactive: int | None = None
        self._active_batches: set[int] = set()
        self._cancelled_batches: set[int] = set()
        self._model: ModelInfo | None = None
        self._queue = WorkQueue()
        self._runner = _InferenceRunner(self._queue, device)
        self._thread = TaskThread("cxr-inference", self._queue.take, self._runner.handle,
                                  on_exit=self._runner.release)
        self._thread.emitted.connect(self._dispatch, Qt.ConnectionType.QueuedConnection)
        self._started = self._closed = False

    @Slot(object)
    def _dispatch(self, message: object) -> None:
        """Every message from the worker thread, by type, on the UI thread."""
        handler = {
            InferenceResult: self._on_result,
            InferenceError: self._on_error,
            BatchProgress: self._on_progress,
            ModelInfo: self._on_loaded,
            ModelLoadFailure: self._on_load_failed,
            RequestStarted: self._on_started,
        }[type(message)]
        handler(message)

    # ---- control (UI thread) ----

    def start(self) -> None:
        """Start the thread and load the initial model there; returns at once."""
        if self._started or self._closed:
            return
        self._started = True
        app = QCoreApplication.instance()
        if app is not None:  # a safety net: a window that forgets close() must not crash on exit
            app.aboutToQuit.connect(self.close)
        self._queue.put_command(Command.LOAD_MODEL, self._initial_dir)
        self._thread.start()

    def submit(self, image: LoadedImage | str | Path, *, cam: bool = True,
               cam_method: str = DEFAULT_CAM_METHOD, target: int | str | None = None) -> int:
        """Analyse the image on screen; supersedes the previous interactive request.

        An unknown ``cam_method`` raises ValueError here; problems that depend on
        the image or the model (an unreadable file, a label the model lacks) come
        back as an ``error`` signal.
        """
        request = InferenceRequest(next(self._ids), cam=cam, cam_method=cam_method, target=target,
                                   **_image_or_path(image))
        self._check_open()
        self._latest_interactive = request.request_id
        self._queue.put_interactive(request)
        return request.request_id

    def submit_batch(self, images: Iterable[str | Path | LoadedImage], *, cam: bool = False,
                     cam_method: str = DEFAULT_CAM_METHOD) -> int:
        """Triage many images; results carry ``batch_id``. Raises QueueFullError when too many wait."""
        self._check_open()
        batch_id = next(self._ids)
        requests = tuple(
            InferenceRequest(next(self._ids), cam=cam, cam_method=cam_method, batch_id=batch_id,
                             **_image_or_path(item))
            for item in images
        )
        self._queue.put_batch(BatchJob(batch_id, requests))
        self._active_batches.add(batch_id)
        return batch_id

    def cancel_interactive(self) -> None:
        self._latest_interactive = None
        self._queue.cancel_interactive()

    def cancel_batch(self, batch_id: int | None = None) -> None:
        """Stop a batch (None: every batch); ``batch_finished`` reports it with cancelled=True."""
        ids = self._active_batches if batch_id is None else {batch_id} & self._active_batches
        self._cancelled_batches |= ids
        self._queue.cancel_batch(batch_id)

    def load_model(self, model_dir: str | Path) -> None:
        """Switch models after the running request; refusal -> model_failed, old model kept."""
        self._check_open()
        self._queue.put_command(Command.LOAD_MODEL, Path(model_dir))

    @property
    def model_info(self) -> ModelInfo | None:
        return self._model

    def busy(self) -> bool:
        return self._queue.pending() > 0

    def is_running(self) -> bool:
        return self._thread.isRunning()

    def close(self, timeout_ms: int = CLOSE_WAIT_MS) -> bool:
        """Stop the thread (a forward pass in progress finishes first). Safe twice.

        Returns False if the thread was still busy after ``timeout_ms``; it is then
        left to end on its own (never terminated) and kept referenced until it does.
        """
        if self._closed:
            return not self._thread.isRunning()
        self._closed = True
        self._queue.stop()
        if not self._started or self._thread.wait(timeout_ms):
            return True
        log.error("inference thread still busy after %d ms; leaving it to finish", timeout_ms)
        _orphans.add(self._thread)
        self._thread.finished.connect(lambda t=self._thread: _orphans.discard(t))
        return False

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the inference worker is closed")

    # ---- results (UI thread) ----

    def _arrived(self, request_id: int, batch_id: int | None) -> bool:
        """Count a batch item as delivered; True if the answer is still wanted."""
        if batch_id is not None:
            self._queue.delivered()
        return self._is_fresh(request_id, batch_id)

    def _on_result(self, result: InferenceResult) -> None:
        if self._arrived(result.request_id, result.batch_id):
            self.result.emit(result)
        else:
            log.debug("dropped stale result %d", result.request_id)

    def _on_error(self, error: InferenceError) -> None:
        if self._arrived(error.request_id, error.batch_id):
            self.error.emit(error)

    def _on_progress(self, progress: BatchProgress) -> None:
        if self._closed:
            return
        if progress.finished:
            self._active_batches.discard(progress.batch_id)
            self._cancelled_batches.discard(progress.batch_id)
            self.batch_finished.emit(progress)
        elif progress.batch_id not in self._cancelled_batches:
            self.batch_progress.emit(progress)

    def _on_loaded(self, info: ModelInfo) -> None:
        self._model = info
        if not self._closed:
            self.model_loaded.emit(info)

    def _on_load_failed(self, failure: ModelLoadFailure) -> None:
        if not self._closed:
            self.model_failed.emit(failure)

    def _on_started(self, started: RequestStarted) -> None:
        if not self._closed and started.request_id == self._latest_interactive:
            self.request_started.emit(started.request_id)

    def _is_fresh(self, request_id: int, batch_id: int | None) -> bool:
        if self._closed:
            return False
        if batch_id is not None:
            return batch_id not in self._cancelled_batches
        return request_id == self._latest_interactive


def _image_or_path(item: LoadedImage | str | Path) -> dict:
    return {"image": item} if isinstance(item, LoadedImage) else {"path": Path(item)}
