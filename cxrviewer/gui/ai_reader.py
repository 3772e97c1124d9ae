"""The AI second reader in the window: InferenceWorker in, pane/overlay/list/status bar out.

The window tells this object what is on screen (``analyse``, ``image_cleared``)
and what was opened (``queue_batch``); it turns worker signals into what the
reader sees. Only the worker touches the model (and torch), in its own thread.

Results kept here (``results``) have their heat map dropped: only the one for the
image on screen is held, so a 1,000-image batch costs a few numbers per image.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from cxrviewer.inference.requests import BatchProgress, InferenceError, InferenceResult, ModelInfo, ModelLoadFailure
from cxrviewer.inference.work_queue import QueueFullError
from cxrviewer.inference.worker import InferenceWorker
from cxrviewer.io import LoadedImage

from . import model_summary
from .ai_format import list_badge

log = logging.getLogger(__name__)

LOADING, READY, NO_MODEL = "loading", "ready", "none"


class AiReader(QObject):
    """Owned by the main window; ``close()`` in its closeEvent."""

    resultShown = Signal(object)  # the InferenceResult now in the pane (tests, benchmarks)

    def __init__(self, window, model_dir: Path | None = None) -> None:
        super().__init__(window)
        self._window = window
        self.pane = window.results_pane
        self.canvas = window.canvas
        self.status = window.status
        self.triage = window.list_panel
        self.worker = InferenceWorker(model_dir, parent=self)
        self.model_state = LOADING
        self._closed = False
        self.model_info: ModelInfo | None = None
        self.model_version = ""
        self.current_image: LoadedImage | None = None
        self.current_result: InferenceResult | None = None
        self.results: OrderedDict[Path, InferenceResult] = OrderedDict()
        self._interactive_id = 0
        self._cam_auto_hidden = False  # hidden by us for an out-of-distribution image, not by the reader
        self._batches: dict[int, BatchProgress] = {}
        self._connect()
        self.pane.set_model_loading()
        self.status.show_model_state("AI: loading model…")

    def _connect(self) -> None:
        worker, pane = self.worker, self.pane
        worker.model_loaded.connect(self._on_model_loaded)
        worker.model_failed.connect(self._on_model_failed)
        worker.result.connect(self._on_result)
        worker.error.connect(self._on_error)
        worker.batch_progress.connect(self._on_batch_progress)
        worker.batch_finished.connect(self._on_batch_finished)
        pane.camToggled.connect(self.canvas.cam.set_wanted)
        pane.lungsToggled.connect(self.canvas.lungs.set_wanted)
        pane.camOpacityChanged.connect(self.canvas.cam.set_opacity)
        pane.camTargetChanged.connect(lambda _target: self._request_cam())
        pane.camMethodChanged.connect(lambda _method: self._request_cam())
        pane.modelCardRequested.connect(self.show_model_card)
        self.status.cancelBatchRequested.connect(self.cancel_batches)

    def start(self) -> None:
        """Start the worker thread (the window calls this after its first paint)."""
        self.worker.start()

    def close(self) -> None:
        self._closed = True
        self.worker.close()

    # ----- the image on screen ----------------------------------------------------------
    def analyse(self, image: LoadedImage) -> None:
        """A new image is on screen: read it (latest wins) with a heat map."""
        self.current_image = image
        self.current_result = None
        self.pane.reset_cam_target()
        self._restore_cam_choice()
        self._submit_current()

    def _restore_cam_choice(self) -> None:
        if self._cam_auto_hidden:
            self._cam_auto_hidden = False
            self.pane.set_cam_checked(True)

    def image_cleared(self, message: str) -> None:
        self.current_image = self.current_result = None
        if self._closed:
            return
        self.worker.cancel_interactive()
        if self.model_state == READY:
            self.pane.show_idle(message)

    def _submit_current(self) -> None:
        # A load already queued to the UI can land after the window closed.
        if self._closed or self.current_image is None or self.model_state == NO_MODEL:
            return
        known = self.results.get(self.current_image.path)
        if self.model_state == READY and known is not None:
            # Read before (by this model): the numbers at once; only the heat map is recomputed.
            self.pane.show_result(known, self.model_info.uncertain_below)
            self.pane.show_cam_pending()
        elif self.model_state == READY:
            self.pane.show_analysing(self.current_image.path.name)
        self._interactive_id = self.worker.submit(
            self.current_image, cam=True, cam_method=self.pane.cam_method(), target=self.pane.cam_target())

    def _request_cam(self) -> None:
        """Another class or method: a new map for the same image; the reading stays on screen."""
        if self._closed or self.current_image is None or self.model_state != READY:
            return
        self.pane.show_cam_pending()
        self._interactive_id = self.worker.submit(
            self.current_image, cam=True, cam_method=self.pane.cam_method(), target=self.pane.cam_target())

    def toggle_cam(self) -> None:
        wanted = not self.pane.cam_toggle.isChecked()
        self._cam_auto_hidden = False  # the reader's own choice from now on
        self.pane.set_cam_checked(wanted)
        self.status.showMessage("AI heat map shown" if wanted else "AI heat map hidden", 2000)

    def toggle_lungs(self) -> None:
        wanted = not self.pane.lung_toggle.isChecked()
        self.pane.set_lungs_checked(wanted)
        self.status.showMessage("Lung outline shown" if wanted else "Lung outline hidden", 2000)

    # ----- opened images ----------------------------------------------------------------------
    def queue_batch(self, paths: list[Path]) -> None:
        """Read every image of a folder (or several files) in the background, for the worklist."""
        if not paths or self.model_state == NO_MODEL:
            return
        try:
            batch_id = self.worker.submit_batch(paths, cam=False)
        except QueueFullError as exc:
            self.status.showMessage(f"AI: {exc}", 10000)
            return
        self._batches[batch_id] = BatchProgress(batch_id, 0, 0, len(paths))
        self._show_progress()

    def _reread_list(self) -> None:
        image_list = self.triage.image_list
        paths = [p for p in image_list.paths() if image_list.error_for(p) is None]
        if len(paths) > 1:
            self.cancel_batches()
            self.queue_batch(paths)

    def cancel_batches(self) -> None:
        self.worker.cancel_batch(None)

    def forget_all(self) -> None:
        """Close all: stop reading and forget what was read."""
        self.cancel_batches()
        self.image_cleared("Open an image to have it analysed.")
        self.results.clear()

    def batch_running(self) -> bool:
        return bool(self._batches)

    # ----- worker signals ---------------------------------------------------------------------
    def _on_model_loaded(self, info: ModelInfo) -> None:
        switched = self.model_info is not None or self.model_state == NO_MODEL
        self.model_info, self.model_state = info, READY
        self.model_version = model_summary.model_version(info.model_dir)
        detail = model_summary.details(info, self.model_version)
        self.pane.set_model(model_summary.pane_title(info, self.model_version), detail, info.labels, bool(info.card))
        # "ready": a request sent now is analysed at once (benchmarks/bench_startup.py times this moment)
        self.status.show_model_state(f"AI ready: {model_summary.model_name(info)} on {info.device_name}", detail)
        self.triage.set_labels(info.labels)
        if switched:  # earlier readings came from another model (or none): read everything again
            self.results.clear()
            self.triage.image_list.clear_readings()
            self._submit_current()
            self._reread_list()
        elif self.current_image is not None:
            self.pane.show_analysing(self.current_image.path.name)  # its request was waiting for the model
        else:
            self.pane.show_idle()

    def _on_model_failed(self, failure: ModelLoadFailure) -> None:
        if failure.current is not None or self.model_info is not None:
            self.pane.show_model_refused(failure.message)
            self.status.showMessage(f"AI: model refused; still using {model_summary.model_name(self.model_info)}",
                                    15000)
            return
        self.model_state = NO_MODEL
        self.triage.set_labels(())
        if not failure.model_dir.exists():
            self.pane.set_no_model("The viewer works without it. Model ▸ Load AI model… to choose a model folder.")
            self.status.show_model_state("AI: no model installed", failure.message, problem=True)
        else:
            self.pane.set_model_failed(failure.message)
            self.status.show_model_state("AI: model failed to load", failure.message, problem=True)

    def _on_result(self, result: InferenceResult) -> None:
        light = _without_pixels(result)
        self.results[result.path] = light
        self.triage.image_list.set_reading(result.path, light)
        self.triage.schedule_resort()
        if result.batch_id is None and result.request_id == self._interactive_id:
            self._show_result(result)

    def _show_result(self, result: InferenceResult) -> None:
        if self.current_image is None or result.path != self.current_image.path:
            return
        self.current_result = result
        if result.ood_flag and self.pane.cam_toggle.isChecked() and not self._cam_auto_hidden:
            # A colourful map over, say, a dental film would read as a finding; the reader can still press G.
            self._cam_auto_hidden = True
            self.pane.set_cam_checked(False)
        self.pane.show_result(result, self.model_info.uncertain_below)
        self.canvas.cam.set_map(result.cam, result.cam_strength)
        # No outline where no plausible lungs were found: a "lung" drawn on teeth or a hip misleads.
        lungs = result.lungs
        self.canvas.lungs.set_outlines(lungs.outlines if lungs is not None and lungs.found else ())
        self.resultShown.emit(result)

    def _on_error(self, error: InferenceError) -> None:
        if error.batch_id is not None:
            if error.path is not None and self.model_state != NO_MODEL:
                self.triage.image_list.mark_analysis_failed(error.path, error.message)
            return
        if self.model_state == NO_MODEL or error.request_id != self._interactive_id:
            return  # the pane already says why there is no reading
        self.current_result = None
        self.canvas.cam.clear()
        self.canvas.lungs.clear()
        self.pane.show_error(error.message)

    def _on_batch_progress(self, progress: BatchProgress) -> None:
        if progress.batch_id in self._batches:
            self._batches[progress.batch_id] = progress
            self._show_progress()

    def _on_batch_finished(self, progress: BatchProgress) -> None:
        self._batches.pop(progress.batch_id, None)
        self._show_progress()
        if self.model_state == NO_MODEL:
            return  # nothing was read, and the pane and status bar already say why
        what = "stopped" if progress.cancelled else "done"
        failed = f", {progress.failed} not analysed" if progress.failed else ""
        self.status.show_batch_note(f"AI {what}: {progress.done - progress.failed} of {progress.total} read{failed}")
        if self.triage.image_list.sort_label is not None:
            self.triage.image_list.resort()

    def _show_progress(self) -> None:
        if not self._batches:
            self.status.hide_batch()
            return
        self.status.show_batch(sum(p.done for p in self._batches.values()),
                               sum(p.total for p in self._batches.values()))

    # ----- model -------------------------------------------------------------------------------
    def load_model(self, model_dir: Path) -> None:
        """Switch models; a refused one leaves the current model in use (model_failed says why)."""
        self.status.showMessage(f"AI: loading the model in {Path(model_dir).name}…", 8000)
        self.worker.load_model(model_dir)

    def show_model_card(self) -> None:
        from .dialogs import model_card_dialog

        if self.model_info is not None:
            model_card_dialog(self._window, model_summary.model_name(self.model_info), self.model_info.card).exec()

    def model_record(self) -> dict[str, str]:
        """For report headers."""
        info = self.model_info
        if info is None:
            return {}
        return {"name": model_summary.model_name(info), "architecture": info.architecture,
                "version": self.model_version, "labels": ", ".join(info.labels), "device": info.device_name}

    def badge(self, path: Path) -> str:
        result = self.results.get(path)
        return list_badge(result) if result is not None else ""


def _without_pixels(result: InferenceResult) -> InferenceResult:
    """The reading without its full-size map and mask: what the worklist and the report keep per image."""
    lungs = result.lungs
    if lungs is not None and lungs.mask is not None:
        lungs = dataclasses.replace(lungs, mask=None, outlines=())
    if result.cam is None and lungs is result.lungs:
        return result
    return dataclasses.replace(result, cam=None, lungs=lungs)
