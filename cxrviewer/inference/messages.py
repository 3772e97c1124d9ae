"""Exceptions from the inference path -> one plain sentence for the user (no Qt, no torch).

File names are fine; image metadata is never put in a message or a log.
"""

from __future__ import annotations

from pathlib import Path

from cxrviewer.io.errors import ImageLoadError
from cxrviewer.model.errors import ModelDirError  # plain exceptions, no torch


def describe_failure(exc: BaseException, path: Path | None) -> str:
    name = path.name if path is not None else "image"
    if isinstance(exc, ImageLoadError):
        return str(exc)
    if isinstance(exc, MemoryError) or "out of memory" in str(exc).lower():
        return f"{name}: not enough memory to analyse this image"
    if isinstance(exc, ValueError):  # our own checks: unknown class, bad CAM method, bad shape
        return f"{name}: {exc}"
    return f"{name}: the analysis failed ({type(exc).__name__}); see the log for details"


def describe_model_failure(exc: BaseException, model_dir: Path) -> str:
    if isinstance(exc, (ModelDirError, ValueError, FileNotFoundError)):
        return f"cannot use the model in {model_dir}: {exc}"
    return f"cannot use the model in {model_dir}: {type(exc).__name__}: {exc}"
