"""Does a learning-curve correction fix cxr adapt's method choice? Measured on a development set. Prints JSON.

    python benchmarks/site_shift_learning_curve.py --size 100 --seeds 0,1 [--out runs/lc]
    python benchmarks/site_shift_learning_curve.py --replay [--out runs/lc]

Run after bench_site_shift.py has left its draws in runs/site-shift/adapted. For each draw,
the linear and fine-tune candidates are fitted K times on (K-1)/K of the draw (cxr adapt's
out-of-fold pass) and K times on 1/K (each fold alone, predicting the others); the log-loss
at the two sizes, extrapolated linearly in log(images) to the whole draw, is the corrected
score. Each candidate is also refitted on the whole draw and scored on the site's val rows
outside the draw (site_shift_dev_sweep.dev_set; the test split is never read). --replay
prints, per draw, the pick of the plain out-of-fold log-loss, of the extrapolated one, of
cxr adapt's choose, and which candidate was better on the development set.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_site_shift import DrawFit, headline  # noqa: E402
from site_shift_dev_sweep import draw_and_dev  # noqa: E402

from cxrviewer.model.calibration import fit_temperature  # noqa: E402
from training.adapt.methods import METHOD_FUNCTIONS, tail_logits  # noqa: E402
from training.adapt.pipeline import method_settings  # noqa: E402
from training.adapt.selection import _calibrated, choose  # noqa: E402

CANDIDATES = ("linear", "finetune")


def fit_draw(base, pool, work: Path, size: int, seed: int, out: Path) -> dict:
    options, fit, dev, dev_labels = draw_and_dev(base, pool, work, size, seed)
    record = {"size": size, "seed": seed, "labels": fit.site.label_ids.tolist(), "folds": fit.folds.tolist(),
              "groups": list(fit.site.groups)}
    arrays = {}
    for method in CANDIDATES:
        started = time.monotonic()
        arrays.update(_fits(fit, method, method_settings(options), dev.views[0]))
        temperature = fit_temperature(torch.from_numpy(arrays[f"{method}_big"]), torch.from_numpy(fit.site.label_ids))
        probabilities = torch.softmax(torch.from_numpy(arrays[f"{method}_dev"]) / temperature, 1).numpy()
        record[method] = {"dev": {**headline(dev_labels, probabilities, base.labels),
                                  "log_loss": _log_loss(probabilities, dev_labels)},
                          "seconds": round(time.monotonic() - started, 1)}
        print(json.dumps({"size": size, "seed": seed, "method": method, **record[method]}), file=sys.stderr, flush=True)
    np.savez(out / f"n{size}-seed{seed}.npz", **arrays)
    (out / f"n{size}-seed{seed}.json").write_text(json.dumps(record))
    return record


def _fits(fit: DrawFit, method: str, settings: dict, dev_maps: np.ndarray) -> dict:
    function, folds, maps = METHOD_FUNCTIONS[method], fit.folds, fit.features.views[0]
    big = np.zeros((len(folds), 3), np.float32)
    small = np.full((folds.max() + 1, len(folds), 3), np.nan, np.float32)
    for fold in range(folds.max() + 1):
        others, held = np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)
        model = function(fit.base.model, fit.features.subset(others), fit.site.present, source=fit.source, **settings)
        big[held] = tail_logits(model, maps[held])
        model = function(fit.base.model, fit.features.subset(held), fit.site.present, source=fit.source, **settings)
        small[fold, others] = tail_logits(model, maps[others])
    full = function(fit.base.model, fit.features, fit.site.present, source=fit.source, **settings)
    return {f"{method}_big": big, f"{method}_small": small, f"{method}_dev": tail_logits(full, dev_maps)}


def _log_loss(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float(-np.log(np.clip(probabilities[np.arange(len(labels)), labels], 1e-7, 1)).mean())


def _best_temperature_loss(logits: np.ndarray, labels: np.ndarray) -> float:
    t = fit_temperature(torch.from_numpy(logits), torch.from_numpy(labels))
    return _log_loss(torch.softmax(torch.from_numpy(logits).double() / t, 1).numpy(), labels)


def replay(record: dict, arrays) -> dict:
    labels, folds = np.array(record["labels"]), np.array(record["folds"])
    k = folds.max() + 1
    big_n = np.mean([np.sum(folds != f) for f in range(k)])
    small_n = np.mean([np.sum(folds == f) for f in range(k)])
    factor = math.log(len(labels) / big_n) / math.log(big_n / small_n)
    candidates, rows = {}, {}
    for method in CANDIDATES:
        candidates[method] = _calibrated(method, arrays[f"{method}_big"], labels, folds, 0.0)
        small = arrays[f"{method}_small"]
        small_loss = _best_temperature_loss(np.concatenate([small[f, folds != f] for f in range(k)]),
                                            np.concatenate([labels[folds != f] for f in range(k)]))
        big_loss = _best_temperature_loss(arrays[f"{method}_big"], labels)
        out_of_fold = candidates[method].log_loss(labels)
        rows[method] = {"out_of_fold": round(out_of_fold, 4), "at_1_of_k": round(small_loss, 4),
                        "at_k-1_of_k": round(big_loss, 4),
                        "extrapolated": round(out_of_fold + factor * min(0.0, big_loss - small_loss), 4),
                        "dev_macro_f1": record[method]["dev"]["macro_f1"], "dev_log_loss": round(record[method]["dev"]["log_loss"], 4)}

    def simpler_first(key: str) -> str:
        return "finetune" if rows["finetune"][key] < rows["linear"][key] - 0.005 else "linear"

    return {"size": record["size"], "seed": record["seed"], "candidates": rows,
            "picks": {"out_of_fold log-loss, simpler first": simpler_first("out_of_fold"),
                      "extrapolated log-loss, simpler first": simpler_first("extrapolated"),
                      "cxr adapt's choose": choose(list(candidates.values()), labels, record["groups"],
                                                   record["seed"]).name,
                      "better on the development set": max(CANDIDATES, key=lambda m: rows[m]["dev_macro_f1"])}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("runs/site-shift"))
    parser.add_argument("--out", type=Path, default=Path("runs/site-shift/learning-curve"))
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--replay", action="store_true", help="score the saved fits; fit nothing")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.replay:
        from cxrviewer.model.predictor import Predictor
        from training.adapt.site_data import load_site_data

        base = Predictor.from_dir(args.work / "source" / "model", device="cpu")
        pool = load_site_data(args.work / "pediatric.csv", base.labels, folds=3)
        for seed in (int(s) for s in args.seeds.split(",")):
            fit_draw(base, pool, args.work, args.size, seed, args.out)
    draws = []
    for path in sorted(args.out.glob("n*-seed*.json")):
        with np.load(path.with_suffix(".npz")) as arrays:
            draws.append(replay(json.loads(path.read_text()), dict(arrays)))
    print(json.dumps({"benchmark": "site_shift_learning_curve", "draws": draws}, indent=2))


if __name__ == "__main__":
    main()
