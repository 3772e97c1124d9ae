"""Fine-tune settings compared on a development set, never on the site's test split. Prints JSON.

    python benchmarks/site_shift_dev_sweep.py '{"base": {}, "ep80": {"epochs": 80}}' [--seeds 0,1,2,3]

Runs after bench_site_shift.py has left its 100-image draws in --work (runs/site-shift/adapted):
for each draw, each variant (method_settings overrides; "method": "linear", or "ensemble" with
"of": [earlier variant names]) is refitted on the draw and scored on the site's val rows outside
the draw (about 500 images), with the temperature cxr adapt fitted on the draw's out-of-fold
logits. Per-draw lines go to stderr as they finish.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_site_shift import DrawFit, draw_dir, headline  # noqa: E402

from cxrviewer.model.predictor import Predictor  # noqa: E402
from training.adapt.features import extract  # noqa: E402
from training.adapt.options import METHODS, AdaptOptions  # noqa: E402
from training.adapt.pipeline import method_settings  # noqa: E402
from training.adapt.site_data import draw_subset, load_site_data  # noqa: E402

SIZE = 100
CPU = torch.device("cpu")


def dev_set(base, pool, site_csv: Path, draw, work: Path):
    """The site's val rows that are not in the draw, as frozen-stage features, and their labels."""
    with open(site_csv, newline="") as fh:
        val = {row["path"] for row in csv.DictReader(fh) if row["split"] == "val"}
    drawn = {str(s.path) for s in draw}
    samples = [s for s in pool.samples if str(s.path) in val and str(s.path) not in drawn]
    index = {name: i for i, name in enumerate(base.labels)}
    labels = np.array([index[s.label] for s in samples])
    return extract(base.model, samples, labels, base.config.preprocessing, work / "dev-cache", 1, 0, CPU), labels


def draw_and_dev(base, pool, work: Path, size: int, seed: int):
    """One benchmark draw as cxr adapt saw it (options, DrawFit) and its development set (features, labels)."""
    draw = draw_subset(pool.samples, size, seed)
    out = draw_dir(work, size, seed)
    options = AdaptOptions(data=out.with_suffix(".csv"), out=out, model=work / "source" / "model", seed=seed,
                           source_data=work / "adult.csv", methods=METHODS)
    fit = DrawFit.of(base, replace(pool, samples=tuple(draw)), options)
    return options, fit, *dev_set(base, pool, work / "pediatric.csv", draw, work)


def sweep_draw(base, pool, work: Path, seed: int, variants: dict) -> dict:
    options, fit, dev, dev_labels = draw_and_dev(base, pool, work, SIZE, seed)
    probabilities, scores = {}, {}
    for name, variant in variants.items():
        if variant.get("method") == "ensemble":
            probabilities[name] = np.mean([probabilities[other] for other in variant["of"]], axis=0)
        else:
            settings = {**method_settings(options), **{k: v for k, v in variant.items() if k != "method"}}
            probabilities[name] = fit.probabilities(variant.get("method", "finetune"), settings, dev.views[0])
        scores[name] = headline(dev_labels, probabilities[name], base.labels)
        print(json.dumps({"seed": seed, "variant": name, "dev_images": len(dev_labels), **scores[name]}),
              file=sys.stderr, flush=True)
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", type=json.loads, help='JSON: {"name": {setting: value}, ...}')
    parser.add_argument("--work", type=Path, default=Path("runs/site-shift"))
    parser.add_argument("--seeds", default="0,1,2,3")
    args = parser.parse_args()
    base = Predictor.from_dir(args.work / "source" / "model", device="cpu")
    pool = load_site_data(args.work / "pediatric.csv", base.labels, folds=3)
    per_draw = {seed: sweep_draw(base, pool, args.work, seed, args.variants)
                for seed in (int(s) for s in args.seeds.split(","))}
    mean = {name: {k: round(float(np.mean([d[name][k] for d in per_draw.values()])), 4)
                   for k in ("macro_f1", "macro_auc", "ece")} for name in args.variants}
    print(json.dumps({"draw_size": SIZE, "per_draw": per_draw, "mean": mean}, indent=2))


if __name__ == "__main__":
    main()
