"""Classification metrics for evaluation reports. Pure numpy: no torch, no sklearn.

Inputs everywhere: ``labels`` (N ints, the true class index), ``probabilities``
(N x C, one row per image, columns in the order of ``label_names``).
The predicted class is the arg-max of a row (the first column wins a tie).

Conventions (the JSON carries them as they are):

* A ratio whose denominator is zero is **undefined and returned as None**
  (JSON ``null``), never NaN and never a silent 0.0: precision/PPV with no
  predictions of the class, recall/sensitivity with no true cases, specificity
  with no true negatives, NPV with no predicted negatives, F1 when the class is
  absent from both truth and predictions. A class that is present but never
  predicted gets precision None and F1 0.0 (2TP / (2TP + FP + FN) is defined).
* AUC is one-vs-rest, rank based (Mann-Whitney U with mid-ranks, so tied
  scores count one half); None when the class has no positives or no negatives.
* ``macro_f1`` averages F1 over the classes present in ``labels`` (support > 0),
  so a subgroup without a class is not charged a 0 for it; with every class
  present it equals scikit-learn's ``f1_score(average="macro")``.
* ``macro_auc`` averages the defined per-class AUCs; None when none is defined.
  With every class present it equals ``roc_auc_score(multi_class="ovr")``.
* ECE is the top-label expected calibration error (Guo et al. 2017): the top
  probability of each row is its confidence, rows go into 15 equal-width bins
  ``(k/15, (k+1)/15]`` (a confidence of exactly 0 joins the first bin), and
  ECE = sum over bins of (bin count / N) * |accuracy in bin - mean confidence in bin|.
* Every metric of an empty set (N = 0) is None.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

ECE_BINS = 15
_PROB_TOLERANCE = 1e-6


@dataclass(frozen=True)
class ClassMetrics:
    """One-vs-rest metrics of one class. None means undefined (zero denominator)."""

    precision: float | None
    recall: float | None
    f1: float | None
    sensitivity: float | None
    specificity: float | None
    ppv: float | None
    npv: float | None
    auc: float | None
    support: int

    def to_dict(self) -> dict:
        return asdict(self)


def validate_inputs(labels, probabilities, label_names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Return (labels, probabilities) as int64 / float64 arrays, or raise ValueError saying what is wrong."""
    labels = np.asarray(labels)
    probs = np.asarray(probabilities, dtype=np.float64)
    n_classes = len(label_names)
    if n_classes < 2:
        raise ValueError(f"need at least 2 classes, got {n_classes}")
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {labels.shape}")
    if probs.ndim != 2 or probs.shape != (labels.shape[0], n_classes):
        raise ValueError(
            f"probabilities must have shape ({labels.shape[0]}, {n_classes}), got {probs.shape}"
        )
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integers, got dtype {labels.dtype}")
    labels = labels.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must lie in 0..{n_classes - 1}")
    if not np.all(np.isfinite(probs)):
        raise ValueError("probabilities contain NaN or infinity")
    if probs.size and (probs.min() < -_PROB_TOLERANCE or probs.max() > 1 + _PROB_TOLERANCE):
        raise ValueError("probabilities must lie in [0, 1]")
    return labels, probs


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, n_classes: int) -> np.ndarray:
    """C x C counts; row = true class, column = predicted class."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    return matrix


def _ratio(numerator: float, denominator: float) -> float | None:
    return float(numerator) / float(denominator) if denominator else None


def _midranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks; tied values all get the mean of the ranks they span."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    # Start index of each run of equal values in the sorted order.
    run_starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    run_ends = np.r_[run_starts[1:], values.size]  # exclusive
    run_ranks = (run_starts + 1 + run_ends) / 2.0  # mean of ranks start+1 .. end
    ranks = np.empty(values.size, dtype=np.float64)
    ranks[order] = np.repeat(run_ranks, run_ends - run_starts)
    return ranks


def binary_auc(is_positive: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve = P(score of a positive > score of a negative), ties count 1/2."""
    is_positive = np.asarray(is_positive, dtype=bool)
    n_pos = int(is_positive.sum())
    n_neg = int(is_positive.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = _midranks(np.asarray(scores, dtype=np.float64))
    u_statistic = ranks[is_positive].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u_statistic / (n_pos * n_neg))


def roc_curve(is_positive: np.ndarray, scores: np.ndarray) -> dict | None:
    """ROC points from (0, 0) to (1, 1), one per distinct score (descending); None if undefined."""
    is_positive = np.asarray(is_positive, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    n_pos = int(is_positive.sum())
    n_neg = int(is_positive.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores = scores[order]
    true_pos = np.cumsum(is_positive[order])
    false_pos = np.arange(1, scores.size + 1) - true_pos
    # Only the last row of each run of equal scores is a real operating point.
    last_of_run = np.r_[sorted_scores[1:] != sorted_scores[:-1], True]
    return {
        "fpr": [0.0] + (false_pos[last_of_run] / n_neg).tolist(),
        "tpr": [0.0] + (true_pos[last_of_run] / n_pos).tolist(),
        "thresholds": [float("inf")] + sorted_scores[last_of_run].tolist(),
    }


def _bin_index(confidences: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin k holds confidences in (k/n, (k+1)/n]; 0 itself goes into bin 0."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return np.clip(np.searchsorted(edges, confidences, side="left") - 1, 0, n_bins - 1)


def reliability_bins(labels: np.ndarray, probabilities: np.ndarray, n_bins: int = ECE_BINS) -> list[dict]:
    """Per bin: edges, count, accuracy and mean confidence (None for an empty bin)."""
    confidences = probabilities.max(axis=1) if probabilities.size else np.zeros(0)
    correct = probabilities.argmax(axis=1) == labels if probabilities.size else np.zeros(0, bool)
    index = _bin_index(confidences, n_bins)
    bins = []
    for k in range(n_bins):
        members = index == k
        count = int(members.sum())
        bins.append({
            "lower": k / n_bins,
            "upper": (k + 1) / n_bins,
            "count": count,
            "accuracy": float(correct[members].mean()) if count else None,
            "confidence": float(confidences[members].mean()) if count else None,
        })
    return bins


def expected_calibration_error(labels: np.ndarray, probabilities: np.ndarray, n_bins: int = ECE_BINS) -> float | None:
    """Top-label ECE over equal-width bins (see the module docstring)."""
    n = labels.shape[0]
    if n == 0:
        return None
    total = 0.0
    for b in reliability_bins(labels, probabilities, n_bins):
        if b["count"]:
            total += b["count"] / n * abs(b["accuracy"] - b["confidence"])
    return float(total)


def per_class_metrics(matrix: np.ndarray, aucs: Sequence[float | None]) -> list[ClassMetrics]:
    """One-vs-rest counts from the confusion matrix, turned into ratios."""
    total = int(matrix.sum())
    result = []
    for k in range(matrix.shape[0]):
        tp = int(matrix[k, k])
        fn = int(matrix[k, :].sum()) - tp
        fp = int(matrix[:, k].sum()) - tp
        tn = total - tp - fn - fp
        precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
        specificity, npv = _ratio(tn, tn + fp), _ratio(tn, tn + fn)
        f1 = _ratio(2 * tp, 2 * tp + fp + fn)
        result.append(ClassMetrics(precision, recall, f1, recall, specificity, precision, npv,
                                   aucs[k], tp + fn))
    return result


def _mean_or_none(values: Sequence[float | None]) -> float | None:
    defined = [v for v in values if v is not None]
    return float(np.mean(defined)) if defined else None


def classification_metrics(labels, probabilities, label_names: Sequence[str]) -> dict:
    """The JSON-ready summary: accuracy, macro_f1, macro_auc, ece, per_class, confusion_matrix."""
    labels, probs = validate_inputs(labels, probabilities, label_names)
    n_classes = len(label_names)
    predictions = probs.argmax(axis=1) if labels.size else np.zeros(0, np.int64)
    matrix = confusion_matrix(labels, predictions, n_classes)
    aucs = [binary_auc(labels == k, probs[:, k]) for k in range(n_classes)]
    classes = per_class_metrics(matrix, aucs)
    present_f1 = [c.f1 for c in classes if c.support > 0]
    return {
        "n": int(labels.size),
        "accuracy": _ratio(np.trace(matrix), labels.size),
        "macro_f1": _mean_or_none(present_f1),
        "macro_auc": _mean_or_none(aucs),
        "ece": expected_calibration_error(labels, probs),
        "per_class": {name: c.to_dict() for name, c in zip(label_names, classes)},
        "confusion_matrix": {"labels": list(label_names), "matrix": matrix.tolist()},
    }


def roc_curves(labels, probabilities, label_names: Sequence[str]) -> dict[str, dict | None]:
    """One-vs-rest ROC points per class (None for a class whose curve is undefined)."""
    labels, probs = validate_inputs(labels, probabilities, label_names)
    return {name: roc_curve(labels == k, probs[:, k]) for k, name in enumerate(label_names)}


def subgroup_metrics(
    labels,
    probabilities,
    label_names: Sequence[str],
    columns: Mapping[str, Sequence[str]],
    ood_flags: Sequence[bool] | None = None,
) -> dict[str, dict[str, dict]]:
    """``classification_metrics`` (plus ``ood_fraction``) for each value of each column.

    ``columns`` maps a column name to one value per row (aligned with ``labels``).
    A subgroup holding one class only still gets accuracy, ECE, per-class counts
    and recall; its undefined AUCs are None.
    """
    labels, probs = validate_inputs(labels, probabilities, label_names)
    flags = np.zeros(labels.size, bool) if ood_flags is None else np.asarray(ood_flags, bool)
    breakdown: dict[str, dict[str, dict]] = {}
    for column, values in columns.items():
        values = np.asarray(values, dtype=object)
        if values.shape != labels.shape:
            raise ValueError(f"column {column!r} has {values.size} values for {labels.size} rows")
        groups = {}
        for value in sorted({str(v) for v in values}):
            members = np.array([str(v) == value for v in values], dtype=bool)
            summary = classification_metrics(labels[members], probs[members], label_names)
            summary["ood_fraction"] = _ratio(flags[members].sum(), members.sum())
            groups[value] = summary
        breakdown[column] = groups
    return breakdown
