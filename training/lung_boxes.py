"""Lung-field crop boxes for every training image, computed once and cached.

A lung-cropping classifier (``--lung-crop``) sees each image cut to its lung fields.
Segmenting 12,000 images takes minutes on a CPU, and the feature cache needs the same
boxes every time, so they are kept in a JSON file keyed by the lung model's hash,
written atomically every few hundred images (a killed run resumes where it stopped).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

from cxrviewer.atomic_files import atomic_write_bytes
from cxrviewer.io import load_image
from cxrviewer.model.lung_model import LUNG_WEIGHTS_FILE, LungSegmenter

from .data import Sample

log = logging.getLogger("training")

Box = tuple[int, int, int, int]
SAVE_EVERY = 500


def lung_boxes(samples: Sequence[Sample], segmenter: LungSegmenter, cache_file: Path) -> dict[str, Box | None]:
    """path -> lung box (None where no plausible pair of lungs was found: the film's own crop is used)."""
    sha = segmenter.config.files[LUNG_WEIGHTS_FILE]
    boxes = _read(cache_file, sha)
    todo = [s for s in samples if str(s.path) not in boxes]
    if todo:
        log.info("segmenting the lung fields of %d images (cached in %s)", len(todo), cache_file.name)
    for done, sample in enumerate(todo, 1):
        result = segmenter.segment(load_image(sample.path))
        boxes[str(sample.path)] = result.box if result.found else None
        if done % SAVE_EVERY == 0 or done == len(todo):
            _write(cache_file, sha, boxes)
            log.info("lung fields: %d/%d images", done, len(todo))
    missing = sum(boxes[str(s.path)] is None for s in samples)
    if missing:
        log.info("no plausible lungs found in %d of %d images: those keep the whole film", missing, len(samples))
    return {str(s.path): boxes[str(s.path)] for s in samples}


def _read(path: Path, sha: str) -> dict[str, Box | None]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        log.warning("ignoring an unreadable lung-box cache %s", path.name)
        return {}
    if data.get("lung_model") != sha:
        return {}
    return {k: (tuple(v) if v is not None else None) for k, v in data.get("boxes", {}).items()}


def _write(path: Path, sha: str, boxes: dict[str, Box | None]) -> None:
    text = json.dumps({"lung_model": sha, "boxes": {k: list(v) if v else None for k, v in boxes.items()}})
    atomic_write_bytes(path, text.encode("utf-8"))
