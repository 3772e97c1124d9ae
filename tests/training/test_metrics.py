"""training.metrics against values worked out by hand, and against scikit-learn."""

from __future__ import annotations

import json

import numpy as np
import pytest

from training import metrics

NAMES = ("A", "B", "C")

# Eight images, three classes. Columns are P(A), P(B), P(C).
#   #  true  probabilities         predicted  top prob  correct
#   1  A     0.70 0.20 0.10        A          0.70      yes
#   2  A     0.50 0.30 0.20        A          0.50      yes
#   3  A     0.25 0.70 0.05        B          0.70      no
#   4  B     0.05 0.90 0.05        B          0.90      yes
#   5  B     0.40 0.50 0.10        B          0.50      yes
#   6  B     0.30 0.20 0.50        C          0.50      no
#   7  C     0.05 0.05 0.90        C          0.90      yes
#   8  C     0.10 0.70 0.20        B          0.70      no
HAND_LABELS = np.array([0, 0, 0, 1, 1, 1, 2, 2])
HAND_PROBS = np.array([
    [0.70, 0.20, 0.10],
    [0.50, 0.30, 0.20],
    [0.25, 0.70, 0.05],
    [0.05, 0.90, 0.05],
    [0.40, 0.50, 0.10],
    [0.30, 0.20, 0.50],
    [0.05, 0.05, 0.90],
    [0.10, 0.70, 0.20],
])


@pytest.fixture(scope="module")
def hand() -> dict:
    return metrics.classification_metrics(HAND_LABELS, HAND_PROBS, NAMES)


def test_confusion_matrix_by_hand(hand):
    # Rows are the true class, columns the prediction:
    #   A: predicted A, A, B -> [2, 1, 0]
    #   B: predicted B, B, C -> [0, 2, 1]
    #   C: predicted C, B    -> [0, 1, 1]
    assert hand["confusion_matrix"] == {"labels": ["A", "B", "C"],
                                        "matrix": [[2, 1, 0], [0, 2, 1], [0, 1, 1]]}
    assert hand["n"] == 8
    assert hand["accuracy"] == pytest.approx(5 / 8)  # diagonal 2 + 2 + 1


def test_per_class_by_hand(hand):
    # One-vs-rest counts from the matrix (N = 8):
    #   A: TP 2, FN 1, FP 0, TN 5
    #   B: TP 2, FN 1, FP 2 (images 3 and 8), TN 3
    #   C: TP 1, FN 1, FP 1 (image 6), TN 5
    expected = {
        "A": dict(precision=2 / 2, recall=2 / 3, f1=4 / 5, specificity=5 / 5, npv=5 / 6, support=3),
        "B": dict(precision=2 / 4, recall=2 / 3, f1=4 / 7, specificity=3 / 5, npv=3 / 4, support=3),
        "C": dict(precision=1 / 2, recall=1 / 2, f1=2 / 4, specificity=5 / 6, npv=5 / 6, support=2),
    }
    for name, want in expected.items():
        got = hand["per_class"][name]
        for key, value in want.items():
            assert got[key] == pytest.approx(value), (name, key)
        assert got["sensitivity"] == got["recall"]
        assert got["ppv"] == got["precision"]


def test_macro_f1_by_hand(hand):
    # Mean of 4/5, 4/7 and 1/2 = (28 + 20 + 17.5) / 35 / 3 = 131 / 210.
    assert hand["macro_f1"] == pytest.approx(131 / 210)


def test_auc_by_hand_with_ties(hand):
    # AUC = share of (positive, negative) pairs where the positive scores higher; a tie counts 1/2.
    # A: positives 0.70 0.50 0.25 vs negatives 0.05 0.40 0.30 0.05 0.10
    #    0.70 beats 5, 0.50 beats 5, 0.25 beats 3 -> 13 / 15
    # B: positives 0.90 0.50 0.20 vs negatives 0.20 0.30 0.70 0.05 0.70
    #    0.90 beats 5, 0.50 beats 3, 0.20 beats 1 and ties 1 -> 9.5 / 15
    # C: positives 0.90 0.20 vs negatives 0.10 0.20 0.05 0.05 0.10 0.50
    #    0.90 beats 6, 0.20 beats 4 and ties 1 -> 10.5 / 12
    aucs = {name: hand["per_class"][name]["auc"] for name in NAMES}
    assert aucs == pytest.approx({"A": 13 / 15, "B": 9.5 / 15, "C": 10.5 / 12})
    assert hand["macro_auc"] == pytest.approx((13 / 15 + 9.5 / 15 + 10.5 / 12) / 3)


def test_ece_by_hand(hand):
    # 15 bins of width 1/15. Top probabilities 0.5, 0.7 and 0.9 fall in bins 7, 10 and 13.
    #   0.5: images 2, 5 (right), 6 (wrong) -> accuracy 2/3, |2/3 - 0.5| = 1/6,   weight 3/8
    #   0.7: images 1 (right), 3, 8 (wrong) -> accuracy 1/3, |1/3 - 0.7| = 11/30, weight 3/8
    #   0.9: images 4, 7 (right)            -> accuracy 1,   |1 - 0.9|   = 1/10,  weight 2/8
    expected = 3 / 8 * 1 / 6 + 3 / 8 * 11 / 30 + 2 / 8 * 1 / 10  # = 0.225
    assert hand["ece"] == pytest.approx(expected)
    assert expected == pytest.approx(0.225)


def test_reliability_bins_by_hand():
    bins = metrics.reliability_bins(HAND_LABELS, HAND_PROBS)
    assert len(bins) == 15
    assert sum(b["count"] for b in bins) == 8
    filled = {k: b for k, b in enumerate(bins) if b["count"]}
    assert sorted(filled) == [7, 10, 13]
    assert filled[10]["accuracy"] == pytest.approx(1 / 3)
    assert filled[10]["confidence"] == pytest.approx(0.7)
    assert bins[0]["accuracy"] is None and bins[0]["confidence"] is None


def test_ece_bin_edges_are_right_closed():
    # Confidence exactly 0.6 = 9/15 belongs to bin 8, (8/15, 9/15]; a confidence of 1.0 to the last.
    probs = np.array([[0.6, 0.4], [1.0, 0.0]])
    bins = metrics.reliability_bins(np.array([0, 0]), probs)
    assert bins[8]["count"] == 1 and bins[14]["count"] == 1


def test_roc_curve_by_hand():
    # Scores 0.9 (+), 0.8 (-), 0.8 (+), 0.1 (-). Distinct thresholds 0.9, 0.8, 0.1:
    #   >= 0.9: TP 1, FP 0 -> (0, 0.5);  >= 0.8: TP 2, FP 1 -> (0.5, 1);  >= 0.1: (1, 1)
    curve = metrics.roc_curve(np.array([1, 0, 1, 0], bool), np.array([0.9, 0.8, 0.8, 0.1]))
    assert curve["fpr"] == pytest.approx([0, 0, 0.5, 1])
    assert curve["tpr"] == pytest.approx([0, 0.5, 1, 1])
    assert curve["thresholds"][1:] == pytest.approx([0.9, 0.8, 0.1])


def test_class_absent_gives_null_not_nan():
    # No true C. Predictions: A, A, B, B, and one image predicted C (a false positive).
    labels = np.array([0, 0, 1, 1, 1])
    probs = np.array([[0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1],
                      [0.1, 0.2, 0.7]])
    result = metrics.classification_metrics(labels, probs, NAMES)
    c = result["per_class"]["C"]
    assert c["support"] == 0
    assert c["auc"] is None and c["recall"] is None  # no positives: undefined
    assert c["precision"] == 0.0  # one prediction of C, wrong
    assert c["f1"] == 0.0 and c["specificity"] == pytest.approx(4 / 5)
    # macro F1 over the present classes only: A 1.0 (2/2 right, no FP), B F1 = 4/(4+0+1) = 0.8.
    assert result["macro_f1"] == pytest.approx((1.0 + 0.8) / 2)
    # macro AUC over the defined ones (C's is undefined):
    #   A: positives 0.8 0.6 vs negatives 0.2 0.1 0.1 -> 6 / 6
    #   B: positives 0.7 0.8 0.2 vs negatives 0.3 0.1 -> 0.2 loses to 0.3 -> 5 / 6
    assert result["macro_auc"] == pytest.approx((1 + 5 / 6) / 2)
    json.dumps(result, allow_nan=False)  # raises on NaN/inf


def test_all_same_prediction():
    labels = np.array([0, 1, 2, 1])
    probs = np.tile([0.2, 0.5, 0.3], (4, 1))  # always B, identical scores
    result = metrics.classification_metrics(labels, probs, NAMES)
    assert result["accuracy"] == pytest.approx(2 / 4)
    assert result["per_class"]["A"]["precision"] is None  # never predicted
    assert result["per_class"]["A"]["f1"] == 0.0
    assert result["per_class"]["B"]["specificity"] == 0.0 and result["per_class"]["B"]["npv"] is None
    # All scores tie, so every AUC is exactly 1/2.
    assert [result["per_class"][n]["auc"] for n in NAMES] == [0.5, 0.5, 0.5]
    json.dumps(result, allow_nan=False)


def test_single_class_subgroup_and_empty_input():
    one_class = metrics.classification_metrics(np.array([1, 1]), np.array([[0.1, 0.9], [0.6, 0.4]]), ("x", "y"))
    assert one_class["accuracy"] == 0.5 and one_class["macro_auc"] is None
    assert one_class["per_class"]["y"]["recall"] == 0.5
    empty = metrics.classification_metrics(np.zeros(0, int), np.zeros((0, 2)), ("x", "y"))
    assert empty["n"] == 0
    assert [empty[k] for k in ("accuracy", "macro_f1", "macro_auc", "ece")] == [None] * 4
    json.dumps(empty, allow_nan=False)


@pytest.mark.parametrize("labels, probs, message", [
    ([0, 1], [[0.5, 0.5]], "shape"),
    ([0, 3], [[0.5, 0.5], [0.5, 0.5]], "labels must lie"),
    ([0, 1], [[np.nan, 0.5], [0.5, 0.5]], "NaN"),
    ([0, 1], [[1.5, 0.5], [0.5, 0.5]], r"\[0, 1\]"),
    ([0.0, 1.0], [[0.5, 0.5], [0.5, 0.5]], "integers"),
])
def test_bad_input_raises_a_clear_value_error(labels, probs, message):
    with pytest.raises(ValueError, match=message):
        metrics.classification_metrics(np.array(labels), np.array(probs), ("x", "y"))


def test_subgroup_breakdown_by_hand():
    # The hand example split by site: images 1-4 at "s1", 5-8 at "s2".
    site = ["s1"] * 4 + ["s2"] * 4
    ood = [False, True, False, False, False, False, False, False]
    got = metrics.subgroup_metrics(HAND_LABELS, HAND_PROBS, NAMES, {"site": site}, ood)
    s1, s2 = got["site"]["s1"], got["site"]["s2"]
    # s1: images 1-4, truth A A A B, predicted A A B B -> 3 of 4 right; no C at all.
    assert s1["n"] == 4 and s1["accuracy"] == pytest.approx(3 / 4)
    assert s1["ood_fraction"] == pytest.approx(1 / 4)
    assert s1["per_class"]["C"]["auc"] is None
    # s2: images 5-8, truth B B C C, predicted B C C B -> 2 of 4 right; no true A.
    assert s2["confusion_matrix"]["matrix"] == [[0, 0, 0], [0, 1, 1], [0, 1, 1]]
    assert s2["accuracy"] == pytest.approx(2 / 4) and s2["ood_fraction"] == 0.0
    json.dumps(got, allow_nan=False)


# ---- cross-check against scikit-learn on random data ----

def _random_case(seed: int, n: int = 300, n_classes: int = 4, rounded: bool = False):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_classes, n)
    logits = rng.normal(size=(n, n_classes)) + 1.5 * np.eye(n_classes)[labels]
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    if rounded:  # many tied scores
        probs = np.round(probs, 1)
    return labels, probs


@pytest.mark.parametrize("seed, rounded", [(0, False), (1, False), (2, True), (3, True)])
def test_against_sklearn(seed, rounded):
    from sklearn.metrics import confusion_matrix, f1_score, precision_score, recall_score, roc_auc_score

    labels, probs = _random_case(seed, rounded=rounded)
    names = tuple("abcd")
    ours = metrics.classification_metrics(labels, probs, names)
    predicted = probs.argmax(axis=1)
    assert ours["confusion_matrix"]["matrix"] == confusion_matrix(labels, predicted, labels=range(4)).tolist()
    assert ours["macro_f1"] == pytest.approx(f1_score(labels, predicted, average="macro"))
    per_class_f1 = f1_score(labels, predicted, average=None)
    per_class_p = precision_score(labels, predicted, average=None, zero_division=0)
    per_class_r = recall_score(labels, predicted, average=None)
    for k, name in enumerate(names):
        assert ours["per_class"][name]["f1"] == pytest.approx(per_class_f1[k])
        assert ours["per_class"][name]["precision"] == pytest.approx(per_class_p[k])
        assert ours["per_class"][name]["recall"] == pytest.approx(per_class_r[k])
        assert ours["per_class"][name]["auc"] == pytest.approx(roc_auc_score(labels == k, probs[:, k]))
    if not rounded:  # rounded rows no longer sum to 1, which sklearn's multiclass OvR refuses
        assert ours["macro_auc"] == pytest.approx(roc_auc_score(labels, probs, multi_class="ovr"))


@pytest.mark.parametrize("seed", [4, 5])
def test_roc_curve_against_sklearn(seed):
    from sklearn.metrics import roc_curve

    labels, probs = _random_case(seed, rounded=True)
    ours = metrics.roc_curve(labels == 1, probs[:, 1])
    fpr, tpr, _ = roc_curve(labels == 1, probs[:, 1], drop_intermediate=False)
    assert ours["fpr"] == pytest.approx(fpr.tolist())
    assert ours["tpr"] == pytest.approx(tpr.tolist())


def test_ece_against_a_direct_loop():
    # An independent, literal implementation of the documented definition.
    labels, probs = _random_case(6, n=500)
    confidence, correct = probs.max(axis=1), probs.argmax(axis=1) == labels
    expected = 0.0
    for k in range(15):
        lo, hi = k / 15, (k + 1) / 15
        members = (confidence > lo) & (confidence <= hi)
        if members.any():
            expected += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    assert metrics.expected_calibration_error(labels, probs) == pytest.approx(expected)
