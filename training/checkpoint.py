"""Atomic training checkpoints that load with torch.load(weights_only=True)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from cxrviewer.atomic_files import create_temp_beside, fsync_folder

CHECKPOINT_NAME = "checkpoint.pt"
BEST_NAME = "best.pt"


def save_checkpoint(state: dict[str, Any], path: Path) -> None:
    """Write via a temp file + os.replace, so a kill mid-write keeps the previous checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = create_temp_beside(path)  # also clears what a killed run left beside it
    os.close(fd)
    try:
        torch.save(state, tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message is one line for people."""


def load_checkpoint(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, KeyError) as exc:
        raise CheckpointError(f"{path.name} is damaged or not a cxrviewer checkpoint ({type(exc).__name__}); "
                              "delete it to start over, or point --out elsewhere") from exc


def plain_args(args: Any) -> dict[str, Any]:
    """argparse Namespace -> JSON/weights_only-safe dict (paths as strings)."""
    out = {}
    for key, value in vars(args).items():
        if key.startswith("_"):
            continue
        out[key] = str(value) if isinstance(value, Path) else value
    return out
