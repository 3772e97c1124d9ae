"""Entry point: ``cxrviewer [--demo] [--model DIR] [--reset-settings] [PATH ...]`` and ``python -m cxrviewer``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from cxrviewer import __version__
from cxrviewer.log_setup import configure_logging
from cxrviewer.malloc_tuning import tune_malloc
from cxrviewer.startup_gc import pause_collection

log = logging.getLogger(__name__)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="cxrviewer",
        description="Chest X-ray viewer with an AI second reader. Research use only — not for diagnosis.",
    )
    parser.add_argument("paths", nargs="*", type=Path, help="image files or folders to open")
    parser.add_argument("--demo", action="store_true", help="open the bundled demo images")
    parser.add_argument("--model", type=Path, metavar="DIR", default=None,
                        help="AI model folder to use instead of the bundled one (holds model.json)")
    parser.add_argument("--reset-settings", action="store_true",
                        help="forget the saved window size, position, panel layout and recent files, then open "
                             "as on the first run (adapted models are kept)")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more log output, library messages included (they may quote file paths)")
    parser.add_argument("--version", action="version", version=f"cxrviewer {__version__}")
    return parser.parse_args(argv)


def open_startup_paths(window, args: argparse.Namespace) -> None:
    """Demo images first (not added to recent files), then the reader's own paths, shown first."""
    if args.demo:
        from cxrviewer.resources import demo_images

        window.open_paths(demo_images(), remember=False)
    if args.paths:
        window.open_paths(args.paths)


def main(argv: Sequence[str] | None = None) -> int:
    tune_malloc()  # before any large array: see cxrviewer/malloc_tuning.py
    pause_collection()  # until the window's first paint: see cxrviewer/startup_gc.py
    args = parse_args(sys.argv[1:] if argv is None else argv)
    configure_logging(args.verbose, level=logging.INFO)  # libraries' messages (paths, header values) only with -v

    # Qt is imported only now, so `--help` and `--version` stay instant.
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from . import error_hook
    from .main_window import MainWindow
    from .theme import apply_dark_theme

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "cxrviewer"])
    app.setOrganizationName("cxrviewer")
    app.setApplicationName("cxrviewer")
    app.setApplicationVersion(__version__)
    apply_dark_theme(app)
    if args.reset_settings:  # before the window reads them
        from .settings_reset import reset_settings

        reset_settings(QSettings())
    window = MainWindow(model_dir=args.model)
    uninstall_hook = error_hook.install(lambda text: window.statusBar().showMessage(text, 15000))
    window.show()
    open_startup_paths(window, args)
    try:
        return app.exec()
    finally:
        uninstall_hook()
