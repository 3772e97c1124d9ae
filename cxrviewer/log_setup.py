"""Logging for the command line, the viewer and training: our own messages, not the libraries'.

Third-party libraries (pydicom, Pillow, torch) log and warn with file paths and
element values in their text, and a path or a header value often names a
patient. Unless the user asks for detail (``-v``), only records of our own
packages reach stderr; library warnings are routed into logging so the same
rule applies to them.
"""

from __future__ import annotations

import logging

OWN_PACKAGES = ("cxrviewer", "training", "benchmarks", "__main__")
FORMAT = "%(levelname)s %(name)s: %(message)s"


def is_own(record: logging.LogRecord) -> bool:
    return record.name.split(".", 1)[0] in OWN_PACKAGES


def configure_logging(verbosity: int = 0, level: int = logging.WARNING) -> None:
    """Log to stderr at ``level`` (one step more detail per ``-v``); libraries only with ``-v``.

    Like ``logging.basicConfig``, does nothing if the root logger already has handlers.
    """
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    if verbosity <= 0:
        handler.addFilter(is_own)
    root.addHandler(handler)
    root.setLevel(max(logging.DEBUG, level - 10 * max(verbosity, 0)))
    logging.captureWarnings(True)  # warnings.warn(...) from libraries -> the "py.warnings" logger
