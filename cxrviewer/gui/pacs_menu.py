"""The viewer's PACS commands: File ▸ Open from PACS…, File ▸ Open AI inbox…, AI ▸ Send results to PACS.

One PacsWorker (cxrviewer.tasks) does all their network work. The AI inbox is the
worklist folder of a running `cxr listen`: its images are added to the list as the
listener reads them (the folder is watched; the worklist is written atomically).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu

from cxrviewer.pacs.errors import PacsError
from cxrviewer.pacs.worklist import JSON_NAME, QUEUED, load_entries
from cxrviewer.tasks.queue import QueueFullError

from .pacs_settings import DICOMWEB, NO_AUTH, PacsNodeSettings, SecretStore, load_node_settings
from .pacs_worker import PacsWorker

log = logging.getLogger(__name__)
INBOX_DEBOUNCE_MS = 500


class PacsIntegration(QObject):
    def __init__(self, window: QMainWindow, secrets: SecretStore | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.worker = PacsWorker(self)
        self.worker.message.connect(self._on_message)
        self.secrets = secrets or SecretStore()
        self.origins: dict[Path, PacsNodeSettings] = {}  # image -> the node it was retrieved from
        self.dialog = None
        self.inbox: AiInbox | None = None
        self._send_id = 0
        self.open_action = QAction("Open from &PACS…", window)
        self.open_action.triggered.connect(self.show_dialog)
        self.inbox_action = QAction("Open AI &inbox (cxr listen folder)…", window)
        self.inbox_action.triggered.connect(self.choose_inbox)
        self.send_action = QAction("&Send results to PACS", window)
        self.send_action.setToolTip("Store the reading on screen (SR, and the heat map as a Secondary Capture) in "
                                    "the image's study on the PACS it came from")
        self.send_action.triggered.connect(self.send_current)
        _add_to_menu(window, "&File", [self.open_action, self.inbox_action], after=window.actions_by_id["open_folder"])
        _add_to_menu(window, "&AI", [self.send_action])

    # ----- open from PACS --------------------------------------------------------------------------
    def show_dialog(self):
        from .pacs_dialog import OpenFromPacsDialog

        if self.dialog is None:
            self.dialog = OpenFromPacsDialog(self.window.settings, self.secrets, self.worker, self.window)
            self.dialog.studyRetrieved.connect(self._open_retrieved)
        if self.dialog.isVisible():
            self.dialog.raise_()  # asked again while open: bring it to the front
        self.dialog.show()
        return self.dialog

    def _open_retrieved(self, paths, node: PacsNodeSettings, first: bool) -> None:
        """The first study of a retrieval goes on screen; the later ones join the list behind it."""
        paths = [Path(p) for p in paths]
        for path in paths:
            self.origins[path] = node
        if paths and first:
            self.window.open_paths(paths, remember=False)
        elif paths:
            self.window.add_paths_quietly(paths)

    # ----- send results ---------------------------------------------------------------------------------
    def node_for(self, path: Path) -> PacsNodeSettings | None:
        """The node an image came from: retrieved in this session, or found in the configured cache."""
        if path in self.origins:
            return self.origins[path]
        node = load_node_settings(self.window.settings)
        try:
            inside = Path(path).resolve().is_relative_to(node.cache_root().resolve())
        except OSError:
            inside = False
        return node if inside else None

    def send_current(self) -> None:
        ai, status = self.window.ai, self.window.status
        image, result, info = ai.current_image, ai.current_result, ai.model_info
        if image is None or result is None or info is None:
            status.showMessage("Send results to PACS: no AI reading on screen yet.", 8000)
            return
        settings = self.node_for(image.path)
        if settings is None:
            status.showMessage("Send results to PACS: this image was not retrieved from a PACS "
                               "(File ▸ Open from PACS…).", 10000)
            return
        secret = self.secrets.get(settings.secret_key) if settings.kind == DICOMWEB and settings.auth != NO_AUTH \
            else None
        from cxrviewer.pacs.jobs import SendJob, record_from_result  # pydicom: not at start-up

        try:
            node = settings.node(secret)
            self._send_id = self.worker.submit(SendJob(node, image.path, record_from_result(result), info.model_dir,
                                                       image=image, cam=result.cam,
                                                       cam_strength=result.cam_strength))
        except PacsError as exc:
            status.showMessage(f"Send results to PACS: {exc} (open File ▸ Open from PACS… to sign in)", 12000)
            return
        except QueueFullError as exc:
            status.showMessage(f"Send results to PACS: {exc}", 8000)
            return
        status.showMessage(f"Sending the AI reading of {image.path.name} to {settings.describe()}…", 8000)

    def _on_message(self, message) -> None:
        if not self._send_id or getattr(message, "job_id", 0) != self._send_id:
            return
        self._send_id = 0
        from cxrviewer.pacs.jobs import JobFailed, ResultsSent

        if isinstance(message, ResultsSent):
            what = "SR and heat-map Secondary Capture" if message.objects == 2 else "SR"
            self.window.status.showMessage(f"AI results ({what}) stored on {message.where}.", 10000)
        elif isinstance(message, JobFailed):
            self.window.status.showMessage(f"Results not sent: {message.message}", 15000)

    # ----- AI inbox -------------------------------------------------------------------------------------------
    def choose_inbox(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, "Open AI inbox (the --out folder of cxr listen)")
        if folder:
            self.open_inbox(Path(folder))

    def open_inbox(self, folder: Path) -> AiInbox:
        if self.inbox is not None:
            self.inbox.close()
        self.inbox = AiInbox(self.window, Path(folder), self)
        return self.inbox

    def shutdown(self) -> None:
        if self.inbox is not None:
            self.inbox.close()
        self.worker.shutdown()


class AiInbox(QObject):
    """Adds the images of a `cxr listen` worklist to the window's list as they are read."""

    def __init__(self, window, folder: Path, parent=None) -> None:
        super().__init__(parent)
        self.window, self.folder = window, folder
        self.seen: set[str] = set()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(INBOX_DEBOUNCE_MS)
        self._timer.timeout.connect(self.refresh)
        self._watcher = QFileSystemWatcher([str(folder)], self)  # the folder: an atomic replace changes the file
        self._watcher.directoryChanged.connect(lambda _path: self._timer.start())
        self.refresh()
        if not (folder / JSON_NAME).is_file():
            window.status.showMessage(f"AI inbox: no {JSON_NAME} in {folder} yet; waiting for cxr listen.", 8000)

    def refresh(self) -> list[Path]:
        entries = [e for e in load_entries(self.folder / JSON_NAME) if e.status != QUEUED and e.sop_uid not in self.seen]
        paths = []
        for entry in entries:
            self.seen.add(entry.sop_uid)
            if Path(entry.path).is_file():
                paths.append(Path(entry.path))
        if paths:
            first = self.window.image_list.count() == 0
            self.window.open_paths(paths, remember=False) if first else self.window.add_paths_quietly(paths)
            self.window.status.showMessage(f"AI inbox: {len(paths)} new image(s).", 6000)
        return paths

    def close(self) -> None:
        self._timer.stop()
        self._watcher.removePaths(self._watcher.directories())


def _add_to_menu(window: QMainWindow, title: str, actions: list[QAction], after: QAction | None = None) -> None:
    menu = next((a.menu() for a in window.menuBar().actions() if isinstance(a.menu(), QMenu)
                 and a.menu().title() == title), None)
    if menu is None:
        log.error("no %s menu for the PACS actions", title)
        return
    menu_actions = menu.actions()
    if after is not None and after in menu_actions and menu_actions.index(after) + 1 < len(menu_actions):
        menu.insertActions(menu_actions[menu_actions.index(after) + 1], actions)
    else:
        menu.addSeparator()
        menu.addActions(actions)
