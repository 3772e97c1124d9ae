"""What `cxr adapt` buys on a site shift made from shared data only. Prints one JSON object.

    python benchmarks/bench_site_shift.py [--work runs/site-shift] [--sizes 25,50,100,200] [--seeds 0,1]

Source model: cxr3 without `kermany_train` (adult hospitals; see site_shift_models.py).
Site: the pediatric Guangzhou hospital (`kermany_train`). For each size, that many
labelled site images are drawn by patient group from its train+val rows and given to
`cxr adapt` (with a share of the adult training data mixed in); every model is then
measured on the site's `test` split (never used for adaptation), with the same
functions as `cxr evaluate`, and on the adult test split (what adapting forgot).
Reported per size and draw: the method `cxr adapt` chose and its wall time, and the test
numbers of every candidate method refitted on the draw, so the choice can be checked. References: the source model before adaptation
and "oracles" trained on all ~4,100 pediatric training images, one per seed
(``--oracle-seeds``): the reference is their mean, and each one is reported.

Test metrics are over the classes the site has (normal, pneumonia): a pediatric film
called COVID-19 counts as an error.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from site_shift_models import build_models  # noqa: E402

from training import metrics  # noqa: E402
from training.adapt.features import extract  # noqa: E402
from training.adapt.methods import METHOD_FUNCTIONS, tail_logits  # noqa: E402
from training.adapt.options import FINETUNE_STARTS, METHODS, AdaptOptions  # noqa: E402
from training.adapt.pipeline import method_settings, run_adaptation  # noqa: E402
from training.adapt.selection import _calibrated  # noqa: E402
from training.adapt.site_data import SiteData, draw_subset, load_site_data, make_folds  # noqa: E402

log = logging.getLogger("bench_site_shift")
HEADLINE = ("macro_f1", "macro_auc", "ece", "accuracy")


def headline(labels: np.ndarray, probabilities: np.ndarray, names) -> dict:
    m = metrics.classification_metrics(labels, probabilities, names)
    return {k: None if m[k] is None else round(m[k], 4) for k in HEADLINE}


def evaluate_dir(model_dir: Path, manifest: Path, recall: bool = False) -> dict:
    """`cxr evaluate`'s own code path on a manifest's test split: Predictor, mapping, build_results."""
    from training.evaluate import build_results, load_predictor, map_labels, predict_items, read_manifest

    rows = read_manifest(manifest, "test")
    predictor = load_predictor(model_dir, "cpu")
    mapping = map_labels([i.label for i in rows.items], predictor.labels)
    run = predict_items(predictor, rows.items, 32)
    results, _, _ = build_results(run, predictor.labels, mapping, [], {})
    out = {k: None if results[k] is None else round(results[k], 4) for k in HEADLINE}
    if recall:
        out["recall"] = {name: None if row["recall"] is None else round(row["recall"], 4)
                         for name, row in results["per_class"].items()}
    return out


def subset_csv(site_rows: list, path: Path) -> Path:
    lines = ["path,label,group"] + [f"{s.path},{s.label},{s.group}" for s in site_rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def per_method_test(out: Path, base_dir: Path, site: SiteData, test_features, test_labels, options) -> dict:
    """Each candidate refitted on the whole draw, temperature from its out-of-fold logits, on the test maps."""
    from cxrviewer.model.predictor import Predictor

    base = Predictor.from_dir(base_dir, device="cpu")
    fit = DrawFit.of(base, site, options)
    settings = method_settings(options)
    return {name: headline(test_labels, fit.probabilities(name, settings, test_features.views[0])[0], base.labels)
            for name in options.methods}


@dataclass(frozen=True)
class DrawFit:
    """What refitting a candidate on one draw needs: its cached features, folds, source mix and work folder."""

    base: object  # Predictor of the source model
    site: SiteData
    features: object  # FeatureSet of the draw
    source: object | None  # FeatureSet of the mixed-in source images
    folds: np.ndarray
    work: Path  # the draw's .adapt-work folder (out-of-fold logits)

    @classmethod
    def of(cls, base, site: SiteData, options: AdaptOptions) -> DrawFit:
        work = options.out / ".adapt-work"
        features = extract(base.model, site.samples, site.label_ids, base.config.preprocessing, work / "cache",
                           options.views, options.seed, torch.device("cpu"), options.batch_size)
        source = source_features(base, options) if options.source_data is not None else None
        return cls(base, site, features, source, make_folds(site.label_ids, site.groups, options.folds, options.seed),
                   work)

    def probabilities(self, method: str, settings: dict, *maps: np.ndarray) -> list[np.ndarray]:
        """``method`` refitted on the draw with ``settings``, calibrated as cxr adapt did, on each of ``maps``."""
        saved = np.load(self.work / f"oof-{method}.npz")
        temperature = _calibrated(method, saved["logits"], self.site.label_ids, self.folds, 0.0).temperature
        model = METHOD_FUNCTIONS[method](self.base.model, self.features, self.site.present, source=self.source,
                                         **settings)
        return [torch.softmax(torch.from_numpy(tail_logits(model, m)) / temperature, 1).numpy() for m in maps]


def source_features(base, options):
    """The source mix exactly as cxr adapt builds it, from (or into) the draw's kept cache."""
    from training.adapt.pipeline import source_features as build

    return build(base, options, options.out / ".adapt-work" / "cache", torch.device("cpu"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("runs/site-shift"))
    parser.add_argument("--sizes", default="25,50,100,200")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--epochs", type=int, default=12, help="epochs of the reference models")
    parser.add_argument("--oracle-seeds", default="0,1,2", help="one all-site reference model per seed")
    parser.add_argument("--no-source-mix", action="store_true", help="adapt without the adult data mixed in")
    parser.add_argument("--finetune-start", choices=FINETUNE_STARTS, default=AdaptOptions.finetune_start,
                        help="where cxr adapt's fine-tuning starts (see training/adapt/options.py)")
    parser.add_argument("--finetune-epochs", type=int, default=AdaptOptions.epochs,
                        help="cxr adapt's fine-tuning epochs (its --epochs)")
    parser.add_argument("--folds", type=int, default=AdaptOptions.folds,
                        help="cxr adapt's cross-validation folds for choosing the method (its --folds)")
    parser.add_argument("--write-evidence", action="store_true",
                        help=f"also write the summary every adapted card quotes ({EVIDENCE.name})")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    torch.set_num_threads(max(1, torch.get_num_threads()))
    models = build_models(args.work, args.epochs, tuple(int(s) for s in args.oracle_seeds.split(",")))
    site_csv, adult_csv = args.work / "pediatric.csv", args.work / "adult.csv"

    from cxrviewer.model.predictor import Predictor

    base = Predictor.from_dir(models["source"], device="cpu")
    pool = load_site_data(site_csv, base.labels, folds=3)  # train + val rows; test rows are set aside
    test = load_site_data(_test_only(site_csv, args.work), base.labels, folds=3)
    test_features = extract(base.model, test.samples, test.label_ids, base.config.preprocessing,
                            args.work / "test-cache", 1, 0, torch.device("cpu"))
    report = {
        "benchmark": "site_shift", "torch": torch.__version__, "threads": torch.get_num_threads(),
        "machine": platform.machine(), "site_test_images": len(test.samples), "site_pool_images": len(pool.samples),
        "source_before": evaluate_dir(models["source"], site_csv),
        # What adapting forgot: every model on the source's own (adult) test split too
        "source_on_adult_test": evaluate_dir(models["source"], adult_csv, recall=True),
        **oracle_reference(models["oracles"], site_csv),
        "runs": [],
    }
    for size in [int(s) for s in args.sizes.split(",")]:
        for seed in [int(s) for s in args.seeds.split(",")]:
            report["runs"].append(_one_run(args, models["source"], pool, size, seed, site_csv, adult_csv, test_features,
                                           test.label_ids))
            print(json.dumps(report["runs"][-1]), file=sys.stderr, flush=True)
    report["summary"] = _summary(report["runs"])
    print(json.dumps(report, indent=2))
    if args.write_evidence:
        EVIDENCE.write_text(json.dumps(evidence(report), indent=2) + "\n")


def oracle_reference(oracles: dict[int, Path], site_csv: Path) -> dict:
    """The all-site reference: the mean over the oracles' seeds, and each seed's numbers."""
    per_seed = {str(seed): evaluate_dir(model_dir, site_csv) for seed, model_dir in oracles.items()}
    mean = {k: round(float(np.mean([m[k] for m in per_seed.values()])), 4) for k in HEADLINE}
    return {"oracle_all_site_training_images": mean, "oracle_per_seed": per_seed}


def _test_only(site_csv: Path, work: Path) -> Path:
    lines = site_csv.read_text().splitlines()
    header = lines[0].split(",")
    split_col = header.index("split")
    kept = [lines[0]] + [line for line in lines[1:] if line.split(",")[split_col] == "test"]
    # Renamed to "train" so load_site_data keeps them; they are only ever predicted.
    rows = [kept[0]] + [",".join("train" if i == split_col else v for i, v in enumerate(line.split(",")))
                        for line in kept[1:]]
    path = work / "pediatric-test.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def draw_dir(work: Path, size: int, seed: int) -> Path:
    """Where one draw's adapted model and (kept) work folder live; its CSV is beside it."""
    return work / "adapted" / f"n{size}-seed{seed}"


def _one_run(args, source_dir: Path, pool: SiteData, size: int, seed: int, site_csv: Path, adult_csv: Path,
             test_features, test_labels) -> dict:
    draw = draw_subset(pool.samples, size, seed)
    out = draw_dir(args.work, size, seed)
    if out.exists():
        import shutil

        shutil.rmtree(out)
    out.mkdir(parents=True)
    csv_path = subset_csv(draw, out.with_suffix(".csv"))
    options = AdaptOptions(data=csv_path, out=out, model=source_dir, seed=seed, keep_work=True,
                           source_data=None if args.no_source_mix else adult_csv, methods=METHODS,
                           finetune_start=args.finetune_start, epochs=args.finetune_epochs, folds=args.folds)
    started = time.monotonic()
    result = run_adaptation(options, command=f"bench_site_shift n={size} seed={seed}")
    seconds = time.monotonic() - started
    site = replace(pool, samples=tuple(draw))
    return {
        "size": len(draw), "seed": seed, "chosen": result.method, "adapt_seconds": round(seconds, 1),
        "adapted_test": evaluate_dir(out, site_csv),
        "adapted_adult_test": evaluate_dir(out, adult_csv, recall=True),
        "methods_test": per_method_test(out, source_dir, site, test_features, test_labels, options),
        "out_of_fold": {row["method"]: round(row["macro_f1"], 4) for row in result.record["candidates"]},
    }


EVIDENCE = Path(__file__).resolve().parents[1] / "training" / "adapt" / "site_shift_evidence.json"


def evidence(report: dict) -> dict:
    """The compact table every adapted model card shows (training.adapt.summary)."""
    rows = []
    for size in sorted({run["size"] for run in report["runs"]}):
        runs = [run for run in report["runs"] if run["size"] == size]
        rows.append({"images": size, "draws": len(runs), "chosen": [run["chosen"] for run in runs],
                     "seconds": round(float(np.mean([run["adapt_seconds"] for run in runs])), 1),
                     **{k: round(float(np.mean([run["adapted_test"][k] for run in runs])), 4)
                        for k in ("macro_f1", "macro_auc", "ece")},
                     **_adult_means(runs)})
    return {"command": "python benchmarks/bench_site_shift.py", "site_test_images": report["site_test_images"],
            "before": report["source_before"], "reference": report["oracle_all_site_training_images"],
            "source_on_adult_test": report.get("source_on_adult_test"),
            "reference_per_seed": report["oracle_per_seed"], "rows": rows}


def _adult_means(runs: list[dict]) -> dict:
    """Mean macro-F1 and COVID-19 recall of the adapted models on the adult test split (forgetting)."""
    adult = [run["adapted_adult_test"] for run in runs if run.get("adapted_adult_test")]
    if not adult:
        return {}
    return {"adult_macro_f1": round(float(np.mean([a["macro_f1"] for a in adult])), 4),
            "adult_covid_recall": round(float(np.mean([a["recall"]["covid"] for a in adult])), 4)}


def _summary(runs: list[dict]) -> dict:
    table: dict = {}
    for run in runs:
        row = table.setdefault(str(run["size"] // 5 * 5), {"runs": 0, "adapt_seconds": []})
        row["runs"] += 1
        row["adapt_seconds"].append(run["adapt_seconds"])
        for name, values in [("adapted", run["adapted_test"]), *run["methods_test"].items()]:
            for key in ("macro_f1", "macro_auc", "ece"):
                row.setdefault(name, {}).setdefault(key, []).append(values[key])
    for row in table.values():
        for name, values in row.items():
            if isinstance(values, dict):
                row[name] = {k: round(float(np.mean(v)), 4) for k, v in values.items()}
        row["adapt_seconds"] = round(float(np.mean(row["adapt_seconds"])), 1)
    return table


if __name__ == "__main__":
    main()
