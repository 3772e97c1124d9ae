"""Per-run logging: OUT/train.log plus stderr, main process only, removed again at the end."""

from __future__ import annotations

import logging
from pathlib import Path

_LOGGERS = ("training", "cxrviewer")
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RunLogging:
    def __init__(self, out: Path, is_main: bool) -> None:
        self.handlers: list[logging.Handler] = []
        self.previous = {name: (logging.getLogger(name).level, logging.getLogger(name).propagate) for name in _LOGGERS}
        if not is_main:
            return
        out.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(out / "train.log", encoding="utf-8")
        stream_handler = logging.StreamHandler()
        for handler in (file_handler, stream_handler):
            handler.setFormatter(logging.Formatter(_FORMAT))
            self.handlers.append(handler)
        for name in _LOGGERS:
            logger = logging.getLogger(name)
            logger.setLevel(logging.INFO)
            logger.propagate = False  # the root handler would print every line twice
            for handler in self.handlers:
                logger.addHandler(handler)

    def close(self) -> None:
        for name in _LOGGERS:
            logger = logging.getLogger(name)
            for handler in self.handlers:
                logger.removeHandler(handler)
            logger.setLevel(self.previous[name][0])
            logger.propagate = self.previous[name][1]
        for handler in self.handlers:
            handler.close()
        self.handlers.clear()
