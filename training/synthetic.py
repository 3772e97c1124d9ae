"""Tiny generated image data sets for tests, benchmarks and smoke runs (no real images needed).

Each class has its own pattern (bars across, a blob, bars down) under noise, so a
small CNN learns it in a few epochs. Images are PNGs beside a labels.csv with
path,label,split?,group,source columns.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

DEFAULT_LABELS = ("normal", "pneumonia", "covid")


def pattern(label_index: int, size: int, rng: np.random.Generator) -> np.ndarray:
    image = rng.normal(90, 20, (size, size))
    yy, xx = np.mgrid[0:size, 0:size]
    phase = rng.uniform(0, 2 * np.pi)
    if label_index % 3 == 0:
        image += 60 * (np.sin(yy / size * 12 + phase) > 0)
    elif label_index % 3 == 1:
        cy, cx = rng.uniform(0.3, 0.7, 2) * size
        image += 120 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (size / 6) ** 2))
    else:
        image += 60 * (np.sin(xx / size * 12 + phase) > 0)
    if label_index >= 3:  # more than three classes: shift brightness per extra class
        image += 15 * (label_index // 3)
    return np.clip(image, 0, 255).astype(np.uint8)


def make_dataset(
    root: str | Path,
    labels: Sequence[str] = DEFAULT_LABELS,
    per_class: int = 12,
    images_per_group: int = 2,
    size: int = 48,
    with_split: bool = False,
    seed: int = 0,
) -> Path:
    """Write images and labels.csv under ``root``; returns the CSV path."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    rows = []
    for li, label in enumerate(labels):
        folder = root / "images" / label
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            name = f"{label}_{i:03d}.png"
            cv2.imwrite(str(folder / name), pattern(li, size, rng))
            group = f"{label}-g{i // images_per_group}"
            row = {"path": f"images/{label}/{name}", "label": label, "group": group, "source": f"site{i % 2}"}
            if with_split:
                row["split"] = ("train", "train", "train", "val")[(i // images_per_group) % 4]
            rows.append(row)
    csv_path = root / "labels.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return csv_path
