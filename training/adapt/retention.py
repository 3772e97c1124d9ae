"""What the adapted model still knows of the base model's own data: forgetting, measured.

With ``--source-data``, ``cxr adapt`` scores the base model and the adapted one on the
source data's held-out rows (``split`` val, else test; never the rows mixed into
training), a class-balanced sample of at most RETENTION_PER_CLASS per class. Adapting
specialises a model to its site; this says what that cost elsewhere, and in which class
(bench_site_shift.py measures the same on the adult hospitals' whole test split).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from cxrviewer.model.architectures import CxrClassifier
from cxrviewer.model.predictor import Predictor

from .. import metrics
from .features import extract
from .methods import tail_logits
from .site_data import balanced_pick, source_rows

log = logging.getLogger("training.adapt")

RETENTION_PER_CLASS = 50
HELD_OUT_SPLITS = ("val", "test")  # the first of these the source data has
FORGETTING_MACRO_F1 = 0.05  # the card warns when macro-F1 on the base model's data falls by more
FORGETTING_RECALL = 0.10  # ... or one class's recall


def held_out_samples(data: Path, model_labels: Sequence[str], seed: int, per_class: int = RETENTION_PER_CLASS):
    """(split, samples) of the first held-out split the source data has; (None, []) when it has none."""
    rows = source_rows(data, model_labels)  # read once, whichever split is used
    for split in HELD_OUT_SPLITS:
        samples = balanced_pick(rows, model_labels, per_class, seed, (split,))
        if samples:
            return split, samples
    return None, []


def measure(base: Predictor, adapted: CxrClassifier, temperature: float, data: Path, work: Path,
            device: torch.device, seed: int, batch_size: int = 32) -> dict | None:
    """Before/after headline and per-class recall on the source's held-out rows; None without any."""
    split, samples = held_out_samples(data, base.labels, seed)
    if not samples:
        log.info("--source-data has no val or test rows: forgetting not measured")
        return None
    index = {name: i for i, name in enumerate(base.labels)}
    labels = np.array([index[s.label] for s in samples])
    model = base.model.to(device)
    try:
        features = extract(model, samples, labels, base.config.preprocessing, work / "cache", 1, seed, device,
                           batch_size, name="retention", segmenter=base.segmenter)
    finally:
        base.model.to("cpu")
    maps = np.asarray(features.views[0])
    return {"split": split, "images": len(samples), "per_class_at_most": RETENTION_PER_CLASS,
            "before": _scores(labels, tail_logits(base.model, maps), base.config.temperature, base.labels),
            "after": _scores(labels, tail_logits(adapted, maps), temperature, base.labels)}


def _scores(labels: np.ndarray, logits: np.ndarray, temperature: float, names: Sequence[str]) -> dict:
    probabilities = torch.softmax(torch.from_numpy(logits).double() / temperature, 1).numpy()
    m = metrics.classification_metrics(labels, probabilities, names)
    return {"macro_f1": m["macro_f1"], "macro_auc": m["macro_auc"], "accuracy": m["accuracy"],
            "recall": {name: row["recall"] for name, row in m["per_class"].items()},
            "support": {name: row["support"] for name, row in m["per_class"].items()}}


def warnings(retention: dict | None) -> list[str]:
    if not retention:
        return []
    before, after = retention["before"], retention["after"]
    out = []
    drop = (before["macro_f1"] or 0) - (after["macro_f1"] or 0)
    if drop > FORGETTING_MACRO_F1:
        out.append(f"On the base model's own held-out images ({retention['images']}, --source-data split "
                   f"{retention['split']}) macro-F1 fell by {drop:.3f}: the adapted model is specialised to this site; "
                   "keep the base model for other populations, or adapt again with more of its data mixed in "
                   "(--source-per-class, --source-per-epoch).")
    lost = [f"{name} {before['recall'][name]:.2f} → {after['recall'][name]:.2f}" for name in before["recall"]
            if before["recall"][name] is not None and after["recall"][name] is not None
            and before["recall"][name] - after["recall"][name] > FORGETTING_RECALL]
    if lost:
        out.append(f"Sensitivity on the base model's own held-out images fell by more than "
                   f"{FORGETTING_RECALL:.2f} for: {'; '.join(lost)}.")
    return out
