"""Which rule for choosing `cxr adapt`'s method picks the candidate that is better on the site's test split.

    python benchmarks/site_shift_selection.py RESULT.json [RESULT.json ...] [--work runs/site-shift]

Run after benchmarks/bench_site_shift.py: each of its RESULT files lists, per draw, every
candidate's test numbers (``methods_test``), and its work folder keeps every candidate's
out-of-fold logits (``n<size>-seed<seed>/.adapt-work/oof-*.npz``). The out-of-fold scores do
not depend on the rule, so every rule can be replayed on the same draws: for each size,
the mean test macro-F1 and ECE of what each rule picks, and of the best candidate in
hindsight. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from training import metrics  # noqa: E402
from training.adapt.selection import SIMPLER_FIRST, _calibrated  # noqa: E402
from training.adapt.site_data import load_site_data, make_folds  # noqa: E402

NAMES = ("normal", "pneumonia", "covid")  # the source model's labels
RULES = {"macro_f1, +0.005 to move up": ("macro_f1", 0.005), "log_loss, -0.005 to move up": ("log_loss", 0.005)}


def out_of_fold_scores(work: Path, size: int, seed: int, methods: list[str], folds: int = 3) -> dict:
    draw = work / "adapted" / f"n{size}-seed{seed}"
    site = load_site_data(draw.with_suffix(".csv"), NAMES, ())
    fold_of = make_folds(site.label_ids, site.groups, folds, seed)
    scores = {}
    for name in methods:
        logits = np.load(draw / ".adapt-work" / f"oof-{name}.npz")["logits"]
        candidate = _calibrated(name, logits, site.label_ids, fold_of, 0.0)
        scores[name] = {"macro_f1": metrics.classification_metrics(site.label_ids, candidate.probabilities,
                                                                    NAMES)["macro_f1"],
                        "log_loss": candidate.log_loss(site.label_ids)}
    return scores


def pick(scores: dict, key: str, margin: float) -> str:
    ordered = sorted(scores, key=SIMPLER_FIRST.index)
    best = ordered[0]
    for name in ordered[1:]:
        gain = scores[name][key] - scores[best][key]
        if (gain > margin) if key == "macro_f1" else (-gain > margin):
            best = name
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", type=Path)
    parser.add_argument("--work", type=Path, default=Path("runs/site-shift"))
    args = parser.parse_args()
    runs = [run for path in args.results for run in json.loads(path.read_text())["runs"]]
    draws, table = [], {}
    for run in runs:
        methods = list(run["methods_test"])
        scores = out_of_fold_scores(args.work, run["size"], run["seed"], methods)
        picks = {rule: pick(scores, key, margin) for rule, (key, margin) in RULES.items()}
        picks["best on test (hindsight)"] = max(methods, key=lambda m: run["methods_test"][m]["macro_f1"])
        draws.append({"size": run["size"], "seed": run["seed"], "out_of_fold": scores, "picks": picks,
                      "test_macro_f1": {m: run["methods_test"][m]["macro_f1"] for m in methods}})
        for rule, chosen in picks.items():
            row = table.setdefault(str(run["size"]), {}).setdefault(rule, {"macro_f1": [], "ece": [], "picks": []})
            row["macro_f1"].append(run["methods_test"][chosen]["macro_f1"])
            row["ece"].append(run["methods_test"][chosen]["ece"])
            row["picks"].append(chosen)
    for rules in table.values():
        for row in rules.values():
            row["draws"] = len(row["picks"])
            row["macro_f1"] = round(float(np.mean(row["macro_f1"])), 4)
            row["ece"] = round(float(np.mean(row["ece"])), 4)
    wrong = {rule: sum(d["picks"][rule] != d["picks"]["best on test (hindsight)"] for d in draws) for rule in RULES}
    print(json.dumps({"benchmark": "site_shift_selection", "results": [str(p) for p in args.results],
                      "draws": len(draws), "picked_the_worse_candidate": wrong, "by_size": table,
                      "per_draw": draws}, indent=2))


if __name__ == "__main__":
    main()
