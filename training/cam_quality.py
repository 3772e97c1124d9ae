"""Does the heat map point at the lungs, and at the disease? Measured on drawn masks.

For a manifest with drawn lung masks (and, optionally, infection masks), per CAM method:

* ``cam_in_lungs``: the share of the map's mass (predicted class) inside the drawn lung
  fields, averaged over images; a model that reads hospital labels, shoulders or the
  abdomen scores low;
* ``pointing_game``: for images whose infection mask is not empty, how often the map's
  maximum (for the true class) falls inside the drawn infected region.

Used by ``cxr evaluate --cam-quality`` and ``benchmarks/bench_cam_lungs.py``.
"""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from cxrviewer.io import load_image
from cxrviewer.model.cam_options import CAM_METHODS
from cxrviewer.model.lung_fields import mass_inside

log = logging.getLogger("training")


class MaskManifestError(ValueError):
    pass


@dataclass(frozen=True)
class MaskedImage:
    path: Path
    label: str
    lung_mask: Path
    infection_mask: Path | None


def read_mask_manifest(csv_path: Path, split: str = "test") -> list[MaskedImage]:
    """Rows of a CSV with path, label, lung_mask[, infection_mask, split]; paths relative to the CSV."""
    try:
        with open(csv_path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise MaskManifestError(f"cannot read {csv_path}: {exc.strerror or exc}") from exc
    if not rows or not {"path", "label", "lung_mask"} <= set(rows[0]):
        raise MaskManifestError(f"{csv_path.name} needs the columns path, label and lung_mask")
    root = csv_path.parent
    return [
        MaskedImage(root / r["path"], r["label"], root / r["lung_mask"],
                    root / r["infection_mask"] if r.get("infection_mask") else None)
        for r in rows
        if split == "all" or r.get("split", split) == split
    ]


def _mask(path: Path, shape: tuple[int, int]) -> np.ndarray:
    mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise MaskManifestError(f"cannot read mask {path.name}")
    if mask.shape != shape:
        mask = cv2.resize(mask, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)
    return mask > 127


def _points_inside(cam: np.ndarray, mask: np.ndarray) -> bool:
    y, x = np.unravel_index(int(np.argmax(cam)), cam.shape)
    return bool(mask[y, x])


def cam_quality(engine, items: Sequence[MaskedImage], methods: Sequence[str] = CAM_METHODS,
                progress: Callable[[int, int], None] | None = None) -> dict:
    """Per method: mean cam_in_lungs (drawn masks, predicted class) and the pointing game."""
    from cxrviewer.inference.requests import InferenceRequest

    labels = engine.info.labels
    scores = {m: {"in_lungs": [], "in_found_lungs": [], "pointing": []} for m in methods}
    start = time.perf_counter()
    for done, item in enumerate(items, 1):
        image = load_image(item.path)
        lungs = _mask(item.lung_mask, image.pixels.shape)
        infected = _mask(item.infection_mask, image.pixels.shape) if item.infection_mask else None
        if infected is not None and not infected.any():
            infected = None
        for method in methods:
            result = engine.run_many([InferenceRequest(0, image=image, cam_method=method)], [image])[0]
            scores[method]["in_lungs"].append(mass_inside(result.cam, lungs))
            if result.lungs is not None and result.lungs.cam_in_lungs is not None:
                scores[method]["in_found_lungs"].append(result.lungs.cam_in_lungs)
            if infected is not None and item.label in labels:
                cam = result.cam
                if result.cam_label != item.label:
                    request = InferenceRequest(0, image=image, cam_method=method, target=item.label)
                    cam = engine.run_many([request], [image])[0].cam
                scores[method]["pointing"].append(_points_inside(cam, infected))
        if progress:
            progress(done, len(items))
    return {
        "n": len(items),
        "seconds": round(time.perf_counter() - start, 1),
        "methods": {m: _summary(s) for m, s in scores.items()},
    }


def _summary(s: dict) -> dict:
    def mean(values):
        return round(float(np.mean(values)), 4) if values else None

    return {
        "cam_in_lungs": mean(s["in_lungs"]),
        "cam_in_lungs_p10": round(float(np.percentile(s["in_lungs"], 10)), 4) if s["in_lungs"] else None,
        "cam_in_found_lungs": mean(s["in_found_lungs"]),
        "pointing_game": mean(s["pointing"]),
        "pointing_n": len(s["pointing"]),
    }
