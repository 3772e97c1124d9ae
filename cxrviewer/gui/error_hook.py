"""Unexpected errors in event handlers: log them and tell the reader, never quit.

PySide6 hands exceptions raised inside slots to ``sys.excepthook``; Python's
default prints and carries on, which hides the problem from the reader. This
hook logs the traceback (code locations only: no tag values are formatted into
our exceptions) and puts a short notice in the status bar.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

log = logging.getLogger(__name__)

NOTICE = "An internal error occurred and was logged. Your images are unaffected."


def install(notify: Callable[[str], None]) -> Callable[[], None]:
    """Route uncaught exceptions to the log and `notify`; returns a function that undoes it."""
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            previous(exc_type, exc, tb)
            return
        log.error("unexpected %s in the viewer", exc_type.__name__, exc_info=(exc_type, exc, tb))
        try:
            notify(NOTICE)
        except Exception:  # the notice must never raise from inside the hook
            log.exception("could not show the error notice")

    sys.excepthook = hook

    def uninstall() -> None:
        sys.excepthook = previous

    return uninstall
