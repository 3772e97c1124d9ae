"""Out-of-fold predictions of every candidate, honest calibration, and the choice between them.

Each candidate is fitted K times, each time without one fold of site groups, and
predicts that fold: every site image gets a prediction from a model that never saw
it (or its patient). The temperature applied to a fold is fitted on the other folds'
out-of-fold logits (cross-fitting), so the reported ECE is not fitted to itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from cxrviewer.model.architectures import CxrClassifier
from cxrviewer.model.calibration import fit_temperature
from cxrviewer.model.ood import MahalanobisOOD

from .. import metrics
from .features import FeatureSet
from .methods import METHOD_FUNCTIONS, tail_logits

log = logging.getLogger("training.adapt")

# Simpler first: a candidate must lower a simpler one's out-of-fold log-loss by more than this
# (nats per image) to be chosen. Log-loss, not macro-F1: on a hundred images the F1 of three
# folds moves with a handful of films near the threshold, and on the site-shift benchmark
# (10 draws of 25-200 images) it chose the candidate that was worse on the site's test split
# 5 times, log-loss 3 times (benchmarks/results/site_shift_selection.json, README "Adapting
# the model").
SIMPLER_FIRST = ("base", "recalibrate", "linear", "finetune")
MIN_LOG_LOSS_GAIN = 0.005


@dataclass(frozen=True)
class Candidate:
    name: str
    logits: np.ndarray  # (N, C) out-of-fold logits, before temperature
    probabilities: np.ndarray  # (N, C) cross-fitted calibrated probabilities
    temperature: float  # fitted on all out-of-fold logits: the final model's
    seconds: float  # wall time of fitting all folds

    def macro_f1(self, labels: np.ndarray, names: Sequence[str]) -> float:
        return metrics.classification_metrics(labels, self.probabilities, names)["macro_f1"] or 0.0

    def log_loss(self, labels: np.ndarray) -> float:
        """Mean negative log-likelihood of the true class under the cross-fitted probabilities."""
        chosen = self.probabilities[np.arange(len(labels)), labels]
        return float(-np.log(np.clip(chosen, 1e-7, 1.0)).mean())


def base_candidate(model: CxrClassifier, site: FeatureSet, temperature: float) -> Candidate:
    """The model as it is (its own temperature): the 'before' column."""
    logits = tail_logits(model, site.views[0])
    probabilities = torch.softmax(torch.from_numpy(logits) / temperature, 1).numpy()
    return Candidate("base", logits, probabilities, temperature, 0.0)


def out_of_fold(name: str, model: CxrClassifier, site: FeatureSet, folds: np.ndarray, present: Sequence[int],
                settings: dict, source: FeatureSet | None = None,
                progress: Callable[..., None] | None = None) -> Candidate:
    fit = METHOD_FUNCTIONS[name]
    logits = np.zeros((len(site), model.classifier.out_features), np.float32)
    started = time.monotonic()
    count = int(folds.max()) + 1
    for fold in range(count):
        train, held = np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)
        fold_progress = _fold_progress(progress, name, fold, count)
        adapted = fit(model, site.subset(train), present, source=source, progress=fold_progress, **settings)
        logits[held] = tail_logits(adapted, site.views[0][held])
        if progress:
            done = folds <= fold
            probs = torch.softmax(torch.from_numpy(logits[done]).double(), 1).numpy()
            f1 = metrics.classification_metrics(site.labels[done], probs, _names(logits))["macro_f1"]
            progress(f"cross-validating {name}", fold + 1, count, held_out_macro_f1=f1)
    return _calibrated(name, logits, site.labels, folds, time.monotonic() - started)


def _names(logits: np.ndarray) -> list[str]:
    return [str(k) for k in range(logits.shape[1])]


def _fold_progress(progress, name: str, fold: int, count: int):
    if progress is None:
        return None

    def report(phase: str, done: int, total: int, **details) -> None:
        progress(f"cross-validating {name}", fold + done / max(total, 1), count, **details)

    return report


def _calibrated(name: str, logits: np.ndarray, labels: np.ndarray, folds: np.ndarray, seconds: float) -> Candidate:
    probabilities = np.zeros_like(logits, dtype=np.float64)
    all_logits, all_labels = torch.from_numpy(logits), torch.from_numpy(labels)
    for fold in np.unique(folds):
        others, held = folds != fold, folds == fold
        t = fit_temperature(all_logits[others], all_labels[others])
        probabilities[held] = torch.softmax(all_logits[held].double() / t, 1).numpy()
    temperature = fit_temperature(all_logits, all_labels)
    return Candidate(name, logits, probabilities, temperature, seconds)


def choose(candidates: Sequence[Candidate], labels: np.ndarray) -> Candidate:
    """Lowest out-of-fold log-loss; a more complex method must beat a simpler one by MIN_LOG_LOSS_GAIN."""
    ordered = sorted(candidates, key=lambda c: SIMPLER_FIRST.index(c.name))
    loss = {c.name: c.log_loss(labels) for c in ordered}
    best = ordered[0]
    for candidate in ordered[1:]:
        if loss[candidate.name] < loss[best.name] - MIN_LOG_LOSS_GAIN:
            best = candidate
    return best


def site_ood(base: MahalanobisOOD, descriptors: np.ndarray, labels: np.ndarray, present: Sequence[int]) -> MahalanobisOOD:
    """The base detector plus one centre per site class (same shared precision).

    The score is the distance to the nearest centre, so the site's own chest films
    stop being flagged while hip, dental or other non-chest images, far from every
    centre, still are. The threshold is left as the base model fitted it.
    """
    centres = [descriptors[labels == c].mean(axis=0) for c in present if np.any(labels == c)]
    if not centres:
        return base
    extra = torch.from_numpy(np.stack(centres)).float()
    return MahalanobisOOD(torch.cat([base.class_means, extra]), base.precision)


def out_of_fold_ood(base: MahalanobisOOD, site: FeatureSet, folds: np.ndarray, present: Sequence[int],
                    threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(before, after) OOD flags per site image; 'after' centres come from the other folds only."""
    descriptors = torch.from_numpy(site.descriptors)
    before = (base.score(descriptors).numpy() > threshold)
    after = np.zeros(len(site), dtype=bool)
    for fold in np.unique(folds):
        others, held = folds != fold, folds == fold
        detector = site_ood(base, site.descriptors[others], site.labels[others], present)
        after[held] = detector.score(descriptors[held]).numpy() > threshold
    return before, after
