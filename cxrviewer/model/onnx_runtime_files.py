"""Whether a model directory carries an ONNX graph, read without onnxruntime or torch."""

from __future__ import annotations

import json
from pathlib import Path

from .config import CONFIG_FILE, RUNTIME_FILE
from .lung_config import LUNG_CONFIG_FILE, LUNG_RUNTIME_FILE


def lists_runtime_graph(directory: str | Path) -> bool:
    """Whether a model or lung model directory lists an ONNX graph (reads its JSON only, checks nothing)."""
    directory = Path(directory)
    for config_name, graph in ((CONFIG_FILE, RUNTIME_FILE), (LUNG_CONFIG_FILE, LUNG_RUNTIME_FILE)):
        try:
            files = json.loads((directory / config_name).read_text(encoding="utf-8")).get("files", {})
        except (OSError, ValueError, AttributeError):
            continue
        return isinstance(files, dict) and graph in files
    return False
