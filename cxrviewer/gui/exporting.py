"""File ▸ Export: the view as a PNG and the AI report of opened images, without patient data by default.

The PNG carries the image's measurements and annotations as drawn on screen, and below
the film a caption with the research-use line, the AI reading and the model (no patient
data, so always). Burned-in corner text leaves out the zoom: the file is at full size.

"Include patient identifiers in exports" is off at every start (never remembered):
when off, the PNG carries no corner text and the report names files only (with their
Study, Series and SOP Instance UIDs, which link a result back to the PACS).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog

from . import report_export, view_export
from .corner_overlay import display_lines
from .export_caption import caption_lines, with_caption
from .measure_paint import burn_in_annotations
from .model_summary import model_name

log = logging.getLogger(__name__)


class Exporter:
    def __init__(self, window) -> None:
        self._window = window
        self.include_identifiers = QAction("Include patient identifiers in exports", window)
        self.include_identifiers.setCheckable(True)
        self.include_identifiers.setChecked(False)
        self.include_identifiers.setToolTip("Off: exported images have no corner text and reports name "
                                            "files only. Applies until the viewer is closed.")

    @property
    def identifying(self) -> bool:
        return self.include_identifiers.isChecked()

    # ----- the view ---------------------------------------------------------------------
    def export_view(self, path: Path | None = None) -> Path | None:
        window = self._window
        canvas = window.canvas
        if canvas.image is None:
            window.status.showMessage("Nothing to export: no image is open.", 5000)
            return None
        path = path or self._ask(f"{canvas.image.path.stem}_view.png", "PNG image (*.png)")
        if path is None:
            return None
        image = view_export.to_qimage(self._compose(), canvas.orientation)
        burn_in_annotations(image, canvas.orientation, (canvas.image.width, canvas.image.height),
                            window.measure.labelled())
        if self.identifying:
            view_export.burn_in_corners(image, self._corners())
        image = with_caption(image, self._caption())
        return self._finish(lambda: view_export.save_png_atomic(image, path), path)

    def _corners(self) -> dict[str, list[str]]:
        window = self._window
        corners = {c: window.overlay.text(c).splitlines() for c in view_export.CORNERS}
        corners["bottom_left"] = display_lines(window.canvas.window, None)  # no 'Zoom 44 %' at full size
        return corners

    def _caption(self) -> list[str]:
        window, ai = self._window, self._window.ai
        image = window.canvas.image
        model = model_name(ai.model_info) if ai.model_info is not None else None
        cam_label = getattr(ai.results.get(image.path), "cam_label", None) if self._cam_shown() else None
        return caption_lines(ai.results.get(image.path), model, ai.model_version, cam_label, image.frame_index)

    def _cam_shown(self) -> bool:
        canvas = self._window.canvas
        return canvas.cam.is_showing()  # hidden on frames the AI did not read (ImageCanvas.show_frame)

    def _compose(self):
        canvas = self._window.canvas
        cam = canvas.cam
        shown = self._cam_shown()
        return view_export.compose_rgb(canvas.image, canvas.window, canvas.inverted,
                                       cam.map_u8 if shown else None, cam.lut, cam.opacity if shown else 0.0)

    # ----- the report -------------------------------------------------------------------------
    def export_report(self, base: Path | None = None) -> tuple[Path, Path] | None:
        window, ai = self._window, self._window.ai
        if not ai.results or ai.model_info is None:
            window.status.showMessage("Nothing to export: no image has been analysed yet.", 5000)
            return None
        base = base or self._ask("cxr_ai_report.csv", "CSV and JSON report (*.csv)")
        if base is None:
            return None
        in_list = [p for p in window.image_list.paths() if p in ai.results]  # the worklist order
        labels = ai.model_info.labels
        rows = report_export.report_rows({p: ai.results[p] for p in in_list}, labels, self.identifying,
                                         window.list_panel.study_index.as_mapping())
        names = report_export.columns(labels, self.identifying)
        written: list = []
        done = self._finish(lambda: written.extend(report_export.write_report(base, rows, names,
                                                                              ai.model_record())), base)
        return tuple(written) if done else None

    # ----- shared -----------------------------------------------------------------------------
    def _ask(self, suggested: str, file_filter: str) -> Path | None:
        start = str(Path(self._window._last_dir()) / suggested)
        chosen, _ = QFileDialog.getSaveFileName(self._window, "Export", start, file_filter)
        return Path(chosen) if chosen else None

    def _finish(self, write, path: Path):
        try:
            write()
        except OSError as exc:
            log.warning("export failed: %s", type(exc).__name__)
            self._window.status.showMessage(f"Could not export {path.name}: {exc.strerror or exc}", 10000)
            return None
        self._window.status.showMessage(f"Exported {path.name}", 5000)
        return path
