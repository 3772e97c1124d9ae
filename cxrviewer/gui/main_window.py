"""The viewer's main window: canvas in the middle, image list left, header and AI panes right."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMainWindow, QWidget

from cxrviewer.io import Window
from cxrviewer.io.formats import file_dialog_filter
from cxrviewer.io.walk import ORDINARY_SKIPS
from cxrviewer.resources import bundled_model_dir
from cxrviewer.startup_gc import resume_collection

from . import dialogs
from .ai_reader import AiReader
from .canvas import EMPTY_MESSAGE, ImageCanvas
from .compare_menu import build_compare_ui
from .compare_view import CompareView
from .corner_overlay import CornerOverlay, display_lines, geometry_lines, patient_lines, study_lines
from .exporting import Exporter
from .image_list import ImageList
from .loader import DISPLAY, FRAME_PURPOSES, SCAN, THUMBNAIL, ImageLoader, LoadResult
from .measure_layer import MeasureLayer, annotations_folder
from .measure_menu import build_measure_ui, measure_handlers
from .menus import build_actions, build_menu_bar
from .pacs_menu import PacsIntegration
from .recent_files import RecentFiles, RecentMenu
from .results_pane import ResultsPane
from .screen_fit import first_geometry
from .status_bar import ViewerStatusBar
from .tag_panel import TagPanel
from .triage_panel import ImageListPanel
from .view_tools import ViewTools

log = logging.getLogger(__name__)

_CACHE_SIZE = 4  # decoded images kept for instant previous/next
_TITLE = "cxrviewer — research use only"


def local_paths(urls: Iterable[QUrl]) -> list[Path]:
    return [Path(u.toLocalFile()) for u in urls if u.isLocalFile()]


class MainWindow(QMainWindow):
    """The viewer. ``model_dir``: the AI model folder (None: the bundled model)."""

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None,
                 model_dir: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(_TITLE)
        self.setAcceptDrops(True)
        self.settings = settings or QSettings()
        self.recent = RecentFiles(self.settings)
        self._display_request = 0
        self._cache: OrderedDict[Path, LoadResult] = OrderedDict()
        self._presets: tuple[Window, ...] = ()
        self._select_after_scan: set[int] = set()

        self.canvas = ImageCanvas(self)
        self.compare = CompareView(self.canvas, self)  # single canvas unless View ▸ Layout says otherwise
        self.setCentralWidget(self.compare)
        self.measure = MeasureLayer(self.canvas, annotations_folder(self.settings), self)
        self.overlay = CornerOverlay(self.canvas)
        self.view_tools = ViewTools(self)  # orientation letters, magnifier, smoothing, 1:1, frames
        self.image_list = ImageList()
        self.list_panel = ImageListPanel(self.image_list)
        self.tag_panel = TagPanel()
        self.results_pane = ResultsPane()
        self.status = ViewerStatusBar(self)
        self.setStatusBar(self.status)
        self._build_docks()
        self.exporter = Exporter(self)
        self.actions_by_id = build_actions(self, self._handlers())
        self._build_menus()
        self.compare_actions = build_compare_ui(self, self.compare)
        self._connect()
        self._restore_layout()
        # Last, so a failure above cannot leave a thread running behind a half-built window.
        self.loader = ImageLoader(self)
        self.loader.loaded.connect(self._on_loaded)
        self.view_tools.attach(self.loader, self.actions_by_id)  # frames of multi-frame images
        # The model loads in the worker's thread, started once the window has been painted:
        # importing torch holds the GIL for long stretches and would delay the first paint.
        self.ai = AiReader(self, model_dir)
        self._ai_started = False
        self.pacs = PacsIntegration(self)  # File ▸ Open from PACS…, AI inbox, AI ▸ Send results to PACS
        self.adapt_dialog = None
        app_data = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
        self.adapted_models_root = Path(app_data or Path.home() / ".cxrviewer") / "adapted-models"

    # ----- construction ---------------------------------------------------
    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        self.list_dock = self._dock("Images", "imagesDock", self.list_panel, left)
        self.results_dock = self._dock("AI second reader", "resultsDock", self.results_pane, right)
        self.tags_dock = self._dock("Image header", "tagsDock", self.tag_panel, right)

    def _default_dock_sizes(self) -> None:
        # Wide enough for thumbnails with names and readings, for the probability bars and
        # for header values; the AI pane gets the height its reading and controls need.
        self.resizeDocks([self.list_dock, self.results_dock], [300, 400], Qt.Orientation.Horizontal)
        self.resizeDocks([self.results_dock, self.tags_dock], [520, 280], Qt.Orientation.Vertical)

    def _handlers(self) -> dict:
        presets = {f"preset_{n}": (lambda _=False, i=n - 1: self.apply_preset(i)) for n in range(1, 6)}
        return {
            "open_files": self.choose_files,
            "open_folder": self.choose_folder,
            "quit": self.close,
            "close_all": self.close_all,
            "next_image": lambda: self.step_image(+1),
            "previous_image": lambda: self.step_image(-1),
            "first_image": lambda: self.image_list.go_to(0),
            "last_image": lambda: self.image_list.go_to(-1),
            **presets,
            "invert": lambda: self.canvas.set_inverted(not self.canvas.inverted),
            "zoom_in": self.canvas.zoom_in,
            "zoom_out": self.canvas.zoom_out,
            "fit": self.canvas.fit,
            "rotate": lambda: self.canvas.set_orientation(self.canvas.orientation.rotated_cw()),
            "flip_h": lambda: self.canvas.set_orientation(self.canvas.orientation.flipped_h()),
            "flip_v": lambda: self.canvas.set_orientation(self.canvas.orientation.flipped_v()),
            "reset": self.canvas.reset_view,
            "toggle_overlay": lambda: self.set_overlay_visible(not self.overlay.visible),
            "toggle_cam": lambda: self.ai.toggle_cam(),
            "toggle_lungs": lambda: self.ai.toggle_lungs(),
            "load_model": self.choose_model,
            "model_card": lambda: self.ai.show_model_card(),
            "adapt_model": self.show_adapt_dialog,
            "use_bundled_model": self.use_bundled_model,
            "cancel_batch": lambda: self.ai.cancel_batches(),
            "export_view": lambda: self.exporter.export_view(),
            "export_report": lambda: self.exporter.export_report(),
            "help": self.show_help,
            **measure_handlers(self.measure),
            **self.view_tools.handlers(),
        }

    def _build_menus(self) -> None:
        self.recent_menu = RecentMenu(self.recent, self)
        self.recent_menu.chosen.connect(self.open_recent)
        docks = [self.list_dock, self.tags_dock, self.results_dock]
        self.window_menu = build_menu_bar(self, self.actions_by_id, self.recent_menu, docks, self.show_about,
                                          self.exporter.include_identifiers)
        self.measure_toolbar = build_measure_ui(self, self.actions_by_id, self.measure)

    def _connect(self) -> None:
        self.image_list.currentPathChanged.connect(self.show_path)
        self.canvas.windowChanged.connect(self._on_view_changed)
        self.canvas.invertChanged.connect(self._on_view_changed)
        self.canvas.orientationChanged.connect(self._on_view_changed)
        self.canvas.zoomChanged.connect(self._on_view_changed)
        self.canvas.frameChanged.connect(self._on_view_changed)
        self.canvas.windowChanged.connect(self.status.show_window)
        self.canvas.windowChanged.connect(self.window_menu.show_current)
        self.canvas.invertChanged.connect(self.window_menu.show_inverted)
        self.canvas.zoomChanged.connect(self.status.show_zoom)
        self.canvas.cursorMoved.connect(self.status.show_pixel)
        self.canvas.cursorLeft.connect(self.status.clear_pixel)
        self.measure.message.connect(lambda text: self.status.showMessage(text, 8000))
        self.canvas.imageChanged.connect(lambda _image: self.compare.refresh())
        self.list_panel.regrouped.connect(self.compare.refresh)
        self.image_list.readingChanged.connect(self.compare.refresh_captions)

    # ----- opening ----------------------------------------------------------
    def open_paths(self, paths: Iterable[Path | str], remember: bool = True) -> None:
        """Add files to the list and show the first; folders are walked in the loader thread."""
        given = [Path(p) for p in paths]
        if remember:
            for path in given:
                if path.exists():
                    self.recent.add(path)
        folders = [p for p in given if p.is_dir()]
        files = [p for p in given if not p.is_dir()]
        if files:
            self._add_files(files, select=True)
        scans = {self.loader.request(folder, SCAN) for folder in folders}
        # Show a folder's first image only if nothing else was opened with it.
        self._select_after_scan = scans if not files else set()
        if folders:
            names = ", ".join(f.name or str(f) for f in folders)
            self.status.showMessage(f"Looking for images in {names}…", 4000)

    def add_paths_quietly(self, files: list[Path]) -> None:
        """Add files to the list (read by the AI, previews made) without leaving the image on screen."""
        self._add_files(list(files), select=False)

    def _add_files(self, files: list[Path], select: bool) -> None:
        added = self.image_list.add_paths(files)
        if len(added) > 1:  # a folder or several files: read them all for the worklist
            self.ai.queue_batch(added)
        if select:
            self.image_list.select_path(files[0])  # first, so its decode is not queued behind previews
        for path in added:
            if path != self.image_list.current_path():
                self.loader.request(path, THUMBNAIL)
        self.status.showMessage(f"{self.image_list.count()} image(s) in the list", 4000)

    def _on_scanned(self, result: LoadResult) -> None:
        folder = result.path.name or str(result.path)
        if result.files:
            select = result.request_id in self._select_after_scan
            if select:
                self._select_after_scan = set()
            self._add_files(list(result.files), select=select)
        if result.skipped:
            self._list_problem_entries(result.skipped)
            self.status.show_skipped(folder, tuple((p.name, why) for p, why in result.skipped), found=len(result.files))
        elif not result.files:
            self.status.showMessage(f"No images found in {folder}", 8000)

    def _list_problem_entries(self, skipped: tuple[tuple[Path, str], ...]) -> None:
        """Broken links, pipes and unreadable entries get a row with their reason, like a file that
        failed to open: the reader sees what the folder held that cannot be shown, and why."""
        problems = [(path, why) for path, why in skipped if why not in ORDINARY_SKIPS]
        self.image_list.add_paths([path for path, _ in problems])
        for path, why in problems:
            self.image_list.mark_failed(path, f"{path.name}: left out of the folder: {why}")

    def choose_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Open images", self._last_dir(), file_dialog_filter())
        if files:
            self.open_paths(files)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open folder (sub-folders included)", self._last_dir())
        if folder:
            self.open_paths([folder])

    def _last_dir(self) -> str:
        recent = self.recent.paths()
        return str(recent[0].parent) if recent else str(Path.home())

    def choose_model(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Load AI model (a folder with model.json)", self._last_dir())
        if folder:
            self.ai.load_model(Path(folder))

    def show_adapt_dialog(self) -> None:
        """Model ▸ Adapt to this site…: non-modal, so reading goes on while the model trains."""
        from .adapt_dialog import AdaptDialog
        from .model_summary import model_name

        info = self.ai.model_info
        base = info.model_dir if info is not None else bundled_model_dir()
        dialog = self.adapt_dialog
        if dialog is not None and dialog.base_model != base and not dialog.process.is_running():
            dialog.process.shutdown()
            dialog.deleteLater()  # the active model changed: adapt that one from now on
            dialog = self.adapt_dialog = None
        if dialog is None:
            name = model_name(info) if info is not None else base.name
            self.adapt_dialog = AdaptDialog(base, name, self.adapted_models_root, self)
            self.adapt_dialog.useModel.connect(self.ai.load_model)
            self.adapt_dialog.useBundled.connect(self.use_bundled_model)
        self.adapt_dialog.show()

    def use_bundled_model(self) -> None:
        self.ai.load_model(bundled_model_dir())

    def open_recent(self, path: Path) -> None:
        if not path.exists():
            self.recent.remove(path)
            self.status.showMessage(f"{path} no longer exists; removed from recent files.", 8000)
            return
        self.open_paths([path])

    # ----- drag and drop (anywhere: child widgets leave drops to the window) -----
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt API)
        if local_paths(event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt API)
        paths = local_paths(event.mimeData().urls())
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.open_paths(paths)

    # ----- showing ------------------------------------------------------------
    def show_path(self, path: Path) -> None:
        error = self.image_list.error_for(path)
        if error is not None:
            self._show_failure(path, error)
            return
        if path in self._cache:
            self._cache.move_to_end(path)
            self._display(self._cache[path])
            return
        self._display_request = self.loader.request(path, DISPLAY)
        self.overlay.clear()
        self.status.clear_image_info()
        self.tag_panel.set_metadata({}, "Loading…")
        self.canvas.clear_image(f"Loading {path.name}…")
        self.ai.image_cleared(f"Waiting for {path.name} to open…")
        self.setWindowTitle(f"{path.name} — cxrviewer")

    def close_all(self) -> None:
        """Empty the list, stop pending work for it, and forget the decoded images."""
        self.loader.cancel_pending()
        self.ai.forget_all()
        self._display_request = 0
        self._select_after_scan = set()
        self._cache.clear()
        self.image_list.clear_all()
        self.overlay.clear()
        self.status.clear_image_info()
        self.tag_panel.set_metadata({})
        self.window_menu.set_windows((), (), self.canvas.set_window)
        self.canvas.clear_image(EMPTY_MESSAGE)
        self.setWindowTitle(_TITLE)

    def step_image(self, delta: int) -> None:
        if not self.image_list.step(delta):
            self.status.showMessage("Last image." if delta > 0 else "First image.", 2000)

    def _on_loaded(self, result: LoadResult) -> None:
        if result.purpose == SCAN:
            self._on_scanned(result)
            return
        if result.purpose in FRAME_PURPOSES:
            return  # another frame of the image on screen: view_tools.frames has it
        if result.error is not None:
            self.image_list.mark_failed(result.path, result.error)
        elif result.thumbnail is not None:
            self.image_list.set_thumbnail(result.path, result.thumbnail)
        if result.purpose in (DISPLAY, THUMBNAIL):  # the header was read: group the file by its study
            self.list_panel.note_identity(result.path, result.image.identity if result.image else result.identity)
        if result.purpose != DISPLAY or result.request_id != self._display_request:
            return  # a preview, or a stale answer to a request the reader moved on from
        if result.error is not None:
            self._show_failure(result.path, result.error)
        else:
            self._remember(result)
            self._display(result)

    def _remember(self, result: LoadResult) -> None:
        self._cache[result.path] = result
        self._cache.move_to_end(result.path)
        while len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)

    def _display(self, result: LoadResult) -> None:
        image = result.image
        self._display_request = 0  # nothing pending any more
        self._presets = result.presets
        self.window_menu.set_windows(result.presets, image.presets, self.canvas.set_window)
        self.canvas.set_image(image, self._presets[0])
        self.tag_panel.set_metadata(image.metadata, "This image has no header.")
        self._update_overlay()
        self.setWindowTitle(f"{image.path.name} — cxrviewer")
        self.ai.analyse(image)

    def _show_failure(self, path: Path, message: str) -> None:
        self._display_request = 0
        self.canvas.clear_image(f"Cannot open {path.name}\n\n{message}")
        self.overlay.clear()
        self.status.clear_image_info()
        self.tag_panel.set_metadata({}, "No header: the file could not be opened.")
        self.status.showMessage(message, 10000)
        self.setWindowTitle(f"{path.name} (cannot open) — cxrviewer")
        self.ai.image_cleared("The image could not be opened, so it was not analysed.")

    # ----- window/level and view -------------------------------------------------
    def apply_preset(self, index: int) -> None:
        if self.canvas.image is not None and index < len(self._presets):
            self.canvas.set_window(self._presets[index])

    def set_overlay_visible(self, visible: bool) -> None:
        self.overlay.set_visible(visible)
        self.view_tools.set_letters_visible(visible)
        self.status.showMessage("Corner information " + ("shown" if visible else "hidden"), 2000)

    def _on_view_changed(self, *_args) -> None:
        self._update_overlay()

    def _update_overlay(self) -> None:
        image = self.canvas.image
        if image is None:
            return
        self.overlay.set_text("top_left", patient_lines(image))
        self.overlay.set_text("top_right", study_lines(image))
        self.overlay.set_text("bottom_left", display_lines(self.canvas.window, self.canvas.zoom_percent()))
        self.overlay.set_text("bottom_right",
                              geometry_lines(image, self.canvas.orientation, self.canvas.inverted))

    # ----- dialogs -----------------------------------------------------------
    def show_help(self) -> None:
        dialogs.help_dialog(self).exec()

    def show_about(self) -> None:
        dialogs.about_dialog(self).exec()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().paintEvent(event)
        if not self._ai_started:
            self._ai_started = True
            QTimer.singleShot(0, resume_collection)  # paused by the entry point for start-up
            QTimer.singleShot(0, self.ai.start)  # after this paint has reached the screen

    # ----- layout persistence and shutdown ----------------------------------------
    def _restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if geometry is None or not self.restoreGeometry(geometry):
            screen = self.screen()
            if screen is not None:  # first start: most of the screen, not Qt's size from the docks
                self.setGeometry(first_geometry(screen.availableGeometry()))
        if state is None or not self.restoreState(state):
            QTimer.singleShot(0, self._default_dock_sizes)  # docks can only be sized once laid out

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.sync()
        if self.adapt_dialog is not None:
            self.adapt_dialog.process.shutdown()  # no training process outlives the viewer
        self.ai.close()  # a forward pass in progress finishes; the thread is never terminated
        self.pacs.shutdown()  # a PACS request in flight ends within its node's time-out
        self.compare.shutdown()
        self.loader.shutdown()
        super().closeEvent(event)
