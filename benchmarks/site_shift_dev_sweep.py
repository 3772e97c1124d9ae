"""Fine-tune settings compared on a development set, never on the site's test split. Prints JSON.

    python benchmarks/site_shift_dev_sweep.py '{"base": {}, "ep80": {"epochs": 80}}' [--seeds 0,1,2,3]

Runs after bench_site_shift.py has left its 100-image draws in --work (runs/site-shift/adapted):
for each draw, each variant (method_settings overrides, or source_per_class / source_views for
another source mix; "method": "linear", or "ensemble" with "of": [earlier variant names]) is
refitted on the draw and scored on the site's val rows outside the draw (about 500 images), with
the temperature cxr adapt fitted on the draw's out-of-fold logits. Per-draw lines go to stderr as
they finish. --source-dev also scores each variant on the source model's own val rows (adult
hospitals), against the source model itself: what adapting forgot.
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
from bench_site_shift import DrawFit, draw_dir, headline, source_features  # noqa: E402

from cxrviewer.model.predictor import Predictor  # noqa: E402
from training.adapt.features import extract  # noqa: E402
from training.adapt.methods import tail_logits  # noqa: E402
from training.adapt.options import METHODS, AdaptOptions  # noqa: E402
from training.adapt.pipeline import method_settings  # noqa: E402
from training.adapt.site_data import draw_subset, load_site_data  # noqa: E402

SIZE = 100
SOURCE_POOL_OPTIONS = ("source_per_class", "source_views")  # AdaptOptions a variant may change: a new source mix
CPU = torch.device("cpu")


def dev_set(base, site_csv: Path, draw, work: Path):
    """The site's val rows that are not in the draw, as frozen-stage features, and their labels."""
    samples, labels = val_rows(base, site_csv, frozenset(str(s.path) for s in draw))
    return extract(base.model, samples, labels, base.config.preprocessing, work / "dev-cache", 1, 0, CPU), labels


def draw_and_dev(base, pool, work: Path, size: int, seed: int):
    """One benchmark draw as cxr adapt saw it (options, DrawFit) and its development set (features, labels)."""
    draw = draw_subset(pool.samples, size, seed)
    out = draw_dir(work, size, seed)
    options = AdaptOptions(data=out.with_suffix(".csv"), out=out, model=work / "source" / "model", seed=seed,
                           source_data=work / "adult.csv", methods=METHODS)
    fit = DrawFit.of(base, replace(pool, samples=tuple(draw)), options)
    return options, fit, *dev_set(base, work / "pediatric.csv", draw, work)


def source_dev_set(base, work: Path):
    """The source model's own val rows (adult hospitals), to see what adapting forgot: features, labels."""
    samples, labels = val_rows(base, work / "adult.csv")
    return extract(base.model, samples, labels, base.config.preprocessing, work / "source-dev-cache", 1, 0, CPU), labels


def val_rows(base, manifest: Path, exclude=frozenset()):
    """A manifest's val rows (paths not in ``exclude``) as samples, and their model class ids."""
    pool = load_site_data(manifest, base.labels, folds=3)
    with open(manifest, newline="") as fh:
        val = {row["path"] for row in csv.DictReader(fh) if row["split"] == "val"}
    samples = [s for s in pool.samples if str(s.path) in val and str(s.path) not in exclude]
    index = {name: i for i, name in enumerate(base.labels)}
    return samples, np.array([index[s.label] for s in samples])


def sweep_draw(base, pool, work: Path, seed: int, variants: dict, source_dev=None) -> dict:
    """Each variant's dev headline; with ``source_dev`` (features, labels) also its ``source_``-prefixed one."""
    options, fit, dev, dev_labels = draw_and_dev(base, pool, work, SIZE, seed)
    maps = [dev.views[0]] + ([source_dev[0].views[0]] if source_dev else [])
    probabilities, scores = {}, {}
    for name, variant in variants.items():
        if variant.get("method") == "ensemble":
            probabilities[name] = [np.mean(p, axis=0) for p in zip(*(probabilities[o] for o in variant["of"]))]
        else:
            mix = {k: variant[k] for k in SOURCE_POOL_OPTIONS if k in variant}
            fitted = replace(fit, source=source_features(base, replace(options, **mix))) if mix else fit
            settings = {**method_settings(options),
                        **{k: v for k, v in variant.items() if k != "method" and k not in SOURCE_POOL_OPTIONS}}
            probabilities[name] = fitted.probabilities(variant.get("method", "finetune"), settings, *maps)
        scores[name] = headline(dev_labels, probabilities[name][0], base.labels)
        if source_dev:
            scores[name].update({f"source_{k}": v for k, v in
                                 headline(source_dev[1], probabilities[name][1], base.labels).items()})
        print(json.dumps({"seed": seed, "variant": name, "dev_images": len(dev_labels), **scores[name]}),
              file=sys.stderr, flush=True)
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", type=json.loads, help='JSON: {"name": {setting: value}, ...}')
    parser.add_argument("--work", type=Path, default=Path("runs/site-shift"))
    parser.add_argument("--seeds", default="0,1,2,3")
    parser.add_argument("--source-dev", action="store_true",
                        help="also score every variant on the source model's val rows (what adapting forgot)")
    args = parser.parse_args()
    base = Predictor.from_dir(args.work / "source" / "model", device="cpu")
    pool = load_site_data(args.work / "pediatric.csv", base.labels, folds=3)
    source_dev = source_dev_set(base, args.work) if args.source_dev else None
    per_draw = {seed: sweep_draw(base, pool, args.work, seed, args.variants, source_dev)
                for seed in (int(s) for s in args.seeds.split(","))}
    keys = [p + k for p in ("", "source_")[:1 + args.source_dev] for k in ("macro_f1", "macro_auc", "ece")]
    mean = {name: {k: round(float(np.mean([d[name][k] for d in per_draw.values()])), 4) for k in keys}
            for name in args.variants}
    report = {"draw_size": SIZE, "per_draw": per_draw, "mean": mean}
    if source_dev:
        logits = torch.from_numpy(tail_logits(base.model, source_dev[0].views[0])) / base.config.temperature
        report["source_model_on_source_dev"] = headline(source_dev[1], torch.softmax(logits, 1).numpy(), base.labels)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
