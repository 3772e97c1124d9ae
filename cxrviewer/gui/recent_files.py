"""Recently opened files and folders, kept in QSettings."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import QMenu, QWidget

_KEY = "recent/paths"
MAX_RECENT = 10


class RecentFiles:
    def __init__(self, settings: QSettings) -> None:
        self._settings = settings

    def paths(self) -> list[Path]:
        raw = self._settings.value(_KEY, [])
        if isinstance(raw, str):  # QSettings hands back a bare string for one-item lists
            raw = [raw]
        return [Path(p) for p in raw or [] if p]

    def add(self, path: Path) -> None:
        path = Path(path).resolve()
        kept = [p for p in self.paths() if p != path]
        self._store([path, *kept][:MAX_RECENT])

    def remove(self, path: Path) -> None:
        self._store([p for p in self.paths() if p != Path(path)])

    def clear(self) -> None:
        self._store([])

    def _store(self, paths: list[Path]) -> None:
        self._settings.setValue(_KEY, [str(p) for p in paths])
        self._settings.sync()


class RecentMenu(QMenu):
    """File > Open recent. Entries whose file has gone are marked, not hidden."""

    chosen = Signal(object)  # Path

    def __init__(self, recent: RecentFiles, parent: QWidget | None = None) -> None:
        super().__init__("Open &recent", parent)
        self._recent = recent
        self.aboutToShow.connect(self.refresh)

    def refresh(self) -> None:
        self.clear()
        for path in self._recent.paths():
            label = str(path) if path.exists() else f"{path}  (not found)"
            self.addAction(label).triggered.connect(lambda _=False, p=path: self.chosen.emit(p))
        if self.isEmpty():
            self.addAction("No recent files").setEnabled(False)
            return
        self.addSeparator()
        self.addAction("Clear list").triggered.connect(self._recent.clear)
