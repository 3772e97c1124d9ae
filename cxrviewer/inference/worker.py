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
The thread's run() imports cxrviewer.inference.engine (and so torch) with
importlib: nothing here imports torch, so the window appears first and
import-linter's "widgets import no torch" contract holds. Every exception in
the thread becomes an ``error`` or ``model_failed`` signal; the loop goes on.
Signals cross threads queued and carry frozen dataclasses. Stopping is
cooperative (a running forward pass finishes); the thread is never terminated.
"""

from __future__ import annotations

import importlib
import itertools
import logging
from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, Slot

from cxrviewer.io.image import LoadedImage
from cxrviewer.resources import bundled_model_dir

from .messages import describe_failure, describe_model_failure
from .requests import (
    DEFAULT_CAM_METHOD,
    BatchProgress,
    InferenceError,
    InferenceRequest,
    InferenceResult,
    ModelInfo,
    ModelLoadFailure,
)
from .work_queue import BatchJob, Command, Work, WorkQueue

log = logging.getLogger(__name__)

ENGINE_MODULE = "cxrviewer.inference.engine"  # imported by name, in the worker thread only
CLOSE_WAIT_MS = 30_000
NO_MODEL_MESSAGE = "No AI model is loaded, so the image was not analysed (see the model message)."
_orphans: set[QThread] = set()  # threads that outlived close(); kept alive until they end


class _InferenceThread(QThread):
    """Owns the engine; every public entry point is on InferenceWorker."""

    result_ready = Signal(object)  # InferenceResult
    failed = Signal(object)  # InferenceError
    progress = Signal(object)  # BatchProgress
    loaded = Signal(object)  # ModelInfo
    load_failed = Signal(object)  # ModelLoadFailure
    started_request = Signal(int)

    def __init__(self, queue: WorkQueue, device: str) -> None:
        super().__init__()
        self.setObjectName("cxr-inference")
        self._queue = queue
        self._device = device
        self._engine = None  # InferenceEngine, created and used only in this thread
        self._engine_module = None

    def run(self) -> None:
        while (work := self._queue.take()) is not None:
            try:
                self._do(work)
            except Exception:  # a bug in the loop itself must not kill the thread
                log.exception("inference worker: unexpected failure")
        self._engine = None  # free the model (and GPU memory) in the thread that made it

    def _do(self, work: Work) -> None:
        if work.command is not None:
            name, argument = work.command
            if name is Command.LOAD_MODEL:
                self._load(argument)
            elif name is Command.FINISH_BATCH:
                self.progress.emit(argument.progress(finished=True))
            return
        self._analyse(work)

    def _load(self, model_dir: Path) -> None:
        try:
            module = self._engine_module or importlib.import_module(ENGINE_MODULE)
            self._engine_module = module
            engine = module.InferenceEngine.load(model_dir, device=self._device)
        except Exception as exc:
            log.warning("model refused: %s", type(exc).__name__)
            current = None if self._engine is None else self._engine.info
            self.load_failed.emit(ModelLoadFailure(model_dir, describe_model_failure(exc, model_dir), current))
            return
        self._engine = engine
        self.loaded.emit(engine.info)

    def _analyse(self, work: Work) -> None:
        request = work.request
        if work.batch is None:
            self.started_request.emit(request.request_id)
        if self._engine is None:
            self._report(work, InferenceError(request.request_id, request.path, NO_MODEL_MESSAGE, request.batch_id))
            return
        try:
            result = self._engine.run(request, cancelled=work.is_cancelled)
        except Exception as exc:
            log.info("request %d failed: %s", request.request_id, type(exc).__name__)
            log.debug("failure detail", exc_info=True)
            message = describe_failure(exc, request.path)
            self._report(work, InferenceError(request.request_id, request.path, message, request.batch_id))
            return
        if result is not None and not work.is_cancelled():
            self._report(work, result)

    def _report(self, work: Work, item: InferenceResult | InferenceError) -> None:
        failed = isinstance(item, InferenceError)
        job = work.batch
        if job is not None:
            job.done += 1
            job.failed += int(failed)
            self._queue.item_reported()
        (self.failed if failed else self.result_ready).emit(item)
        if job is not None:
            self.progress.emit(job.progress())


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
        self._thread = _InferenceThread(self._queue, device)
        self._connect_thread()
        self._started = self._closed = False

    def _connect_thread(self) -> None:
        queued = Qt.ConnectionType.QueuedConnection
        self._thread.result_ready.connect(self._on_result, queued)
        self._thread.failed.connect(self._on_error, queued)
        self._thread.progress.connect(self._on_progress, queued)
        self._thread.loaded.connect(self._on_loaded, queued)
        self._thread.load_failed.connect(self._on_load_failed, queued)
        self._thread.started_request.connect(self._on_started, queued)

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

    @Slot(object)
    def _on_result(self, result: InferenceResult) -> None:
        if self._arrived(result.request_id, result.batch_id):
            self.result.emit(result)
        else:
            log.debug("dropped stale result %d", result.request_id)

    @Slot(object)
    def _on_error(self, error: InferenceError) -> None:
        if self._arrived(error.request_id, error.batch_id):
            self.error.emit(error)

    @Slot(object)
    def _on_progress(self, progress: BatchProgress) -> None:
        if self._closed:
            return
        if progress.finished:
            self._active_batches.discard(progress.batch_id)
            self._cancelled_batches.discard(progress.batch_id)
            self.batch_finished.emit(progress)
        elif progress.batch_id not in self._cancelled_batches:
            self.batch_progress.emit(progress)

    @Slot(object)
    def _on_loaded(self, info: ModelInfo) -> None:
        self._model = info
        if not self._closed:
            self.model_loaded.emit(info)

    @Slot(object)
    def _on_load_failed(self, failure: ModelLoadFailure) -> None:
        if not self._closed:
            self.model_failed.emit(failure)

    @Slot(int)
    def _on_started(self, request_id: int) -> None:
        if not self._closed and request_id == self._latest_interactive:
            self.request_started.emit(request_id)

    def _is_fresh(self, request_id: int, batch_id: int | None) -> bool:
        if self._closed:
            return False
        if batch_id is not None:
            return batch_id not in self._cancelled_batches
        return request_id == self._latest_interactive


def _image_or_path(item: LoadedImage | str | Path) -> dict:
    return {"image": item} if isinstance(item, LoadedImage) else {"path": Path(item)}
