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
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_site_shift import draw_dir  # noqa: E402

from training.adapt.options import AdaptOptions  # noqa: E402
from training.adapt.selection import Candidate, _calibrated, choose, share_better  # noqa: E402
from training.adapt.site_data import load_site_data, make_folds  # noqa: E402

NAMES = ("normal", "pneumonia", "covid")  # the source model's labels (site_shift_models.py)
CURRENT = "most capable unless a simpler one is clearly better (cxr adapt's choose)"
LOG_LOSS = "log_loss, simpler first, -0.005 to move up (until 2026-12-07)"
OLD = "macro_f1, +0.005 to move up (before 2026-12-07)"
SIMPLER_FIRST = ("base", "recalibrate", "linear", "finetune")
HINDSIGHT = "best on test (hindsight)"


def out_of_fold(work: Path, size: int, seed: int, methods: list[str]) -> tuple[dict[str, Candidate], np.ndarray, list]:
    """Each candidate as cxr adapt scored it (cross-fitted probabilities), the draw's labels and groups."""
    draw = draw_dir(work, size, seed)
    site = load_site_data(draw.with_suffix(".csv"), NAMES, ())
    folds = make_folds(site.label_ids, site.groups, AdaptOptions.folds, seed)
    candidates = {name: _calibrated(name, np.load(draw / ".adapt-work" / f"oof-{name}.npz")["logits"],
                                    site.label_ids, folds, 0.0) for name in methods}
    return candidates, site.label_ids, site.groups


def pick_by_log_loss(candidates: dict[str, Candidate], labels: np.ndarray, margin: float = 0.005) -> str:
    """The rule cxr adapt used until 2026-12-07: lowest out-of-fold log-loss, simpler first."""
    loss = {name: c.log_loss(labels) for name, c in candidates.items()}
    ordered = sorted(candidates, key=SIMPLER_FIRST.index)
    best = ordered[0]
    for name in ordered[1:]:
        if loss[name] < loss[best] - margin:
            best = name
    return best


def pick_by_macro_f1(candidates: dict[str, Candidate], labels: np.ndarray, margin: float = 0.005) -> str:
    """The rule cxr adapt used before: highest out-of-fold macro-F1, simpler first."""
    f1 = {name: c.macro_f1(labels, NAMES) for name, c in candidates.items()}
    ordered = sorted(candidates, key=SIMPLER_FIRST.index)
    best = ordered[0]
    for name in ordered[1:]:
        if f1[name] > f1[best] + margin:
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
        candidates, labels, groups = out_of_fold(args.work, run["size"], run["seed"], methods)
        chosen = choose(list(candidates.values()), labels, groups, run["seed"])
        picks = {CURRENT: chosen.name, LOG_LOSS: pick_by_log_loss(candidates, labels),
                 OLD: pick_by_macro_f1(candidates, labels),
                 HINDSIGHT: max(methods, key=lambda m: run["methods_test"][m]["macro_f1"])}
        scores = {name: {"macro_f1": c.macro_f1(labels, NAMES), "log_loss": c.log_loss(labels),
                         "lower_log_loss_than_chosen": None if c is chosen else share_better(c, chosen, labels, groups,
                                                                                              run["seed"])}
                  for name, c in candidates.items()}
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
    wrong = {rule: sum(d["picks"][rule] != d["picks"][HINDSIGHT] for d in draws) for rule in (CURRENT, LOG_LOSS, OLD)}
    print(json.dumps({"benchmark": "site_shift_selection", "results": [str(p) for p in args.results],
                      "draws": len(draws), "picked_the_worse_candidate": wrong, "by_size": table,
                      "per_draw": draws}, indent=2))


if __name__ == "__main__":
    main()
