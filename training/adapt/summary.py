"""Before/after numbers on the held-out site images, with bootstrap intervals, and the card section.

Results use `cxr evaluate`'s schema (training.evaluate.build_results), so a site
engineer reads the same keys in both. Intervals come from a cluster bootstrap over
patient groups (images of one patient are resampled together).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .. import metrics
from ..evaluate import Item, PredictionRun, build_results
from .selection import BOOTSTRAP, CLEARLY_BETTER

HEADLINE = ("macro_f1", "macro_auc", "ece", "accuracy")
EVIDENCE_FILE = "site_shift_evidence.json"  # written by benchmarks/bench_site_shift.py --write-evidence
SMALL_SITE = 100  # below this many held-out images, or 20 of a class, the card warns
SMALL_CLASS = 20
WIDE_INTERVAL = 0.15  # a macro-F1 interval wider than this is called untrustworthy


def evaluation(samples, probabilities: np.ndarray, ood_flags: np.ndarray, labels: Sequence[str],
               columns: Sequence[str], meta: dict) -> dict:
    """`cxr evaluate`'s JSON for out-of-fold predictions."""
    items = [Item(s.path, s.path.name, s.label, {c: s.extras.get(c, "") for c in columns}) for s in samples]
    run = PredictionRun(items, probabilities.tolist(), [bool(f) for f in ood_flags])
    results, _, _ = build_results(run, labels, {name: name for name in labels}, columns, meta)
    return results


def bootstrap_intervals(labels: np.ndarray, probabilities: np.ndarray, groups: Sequence[str], names: Sequence[str],
                        repeats: int = 1000, seed: int = 0) -> dict[str, list[float] | None]:
    """95 % percentile intervals of the headline metrics, resampling whole groups."""
    keys = np.unique(np.asarray(groups), return_inverse=True)[1]
    members = [np.flatnonzero(keys == g) for g in range(keys.max() + 1)]
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {k: [] for k in HEADLINE}
    for _ in range(repeats):
        chosen = rng.integers(len(members), size=len(members))
        index = np.concatenate([members[g] for g in chosen])
        summary = metrics.classification_metrics(labels[index], probabilities[index], names)
        for key in HEADLINE:
            if summary[key] is not None:
                draws[key].append(summary[key])
    return {k: ([float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] if len(v) >= repeats // 2 else None)
            for k, v in draws.items()}


def warnings_for(results: dict, intervals: dict, present_names: Sequence[str], absent_names: Sequence[str],
                 has_source: bool) -> list[str]:
    out = []
    if results["n"] < SMALL_SITE:
        out.append(f"Only {results['n']} site images were held out: these numbers are rough.")
    small = [c for c in present_names if (results["per_class"].get(c, {}).get("support") or 0) < SMALL_CLASS]
    if small:
        out.append(f"Fewer than {SMALL_CLASS} site images of {', '.join(small)}: their figures are not reliable.")
    f1 = intervals.get("macro_f1")
    if f1 and f1[1] - f1[0] > WIDE_INTERVAL:
        out.append(f"The macro-F1 interval is {f1[1] - f1[0]:.2f} wide: label more site images before trusting it.")
    if absent_names:
        kept = ("kept by mixing in the base model's data" if has_source
                else "its classifier row was not refitted, only rescaled with the others")
        out.append(f"The site has no images of {', '.join(absent_names)}: that class was not measured here ({kept}).")
    return out


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _with_interval(value, interval) -> str:
    return _fmt(value) + (f" [{interval[0]:.3f}, {interval[1]:.3f}]" if interval else "")


def card_section(record: dict) -> str:
    """Markdown for MODEL_CARD.md from the adaptation record (numbers never typed by hand)."""
    before, after = record["before"], record["after"]
    lines = [
        "## Site adaptation",
        "",
        f"Adapted from **{record['base']['name']}** (weights sha256 `{record['base']['weights_sha256'][:16]}`) "
        f"on {record['site']['images']} labelled site images ({_counts(record['site']['counts'])}; "
        f"manifest sha256 `{record['site']['manifest_sha256'][:16]}`). Method chosen by {record['folds']}-fold "
        f"grouped cross-validation: **{record['method']}**. Command: `{record['command']}`",
        "",
    ]
    for warning in record["warnings"]:
        lines += [f"> **Warning.** {warning}", ""]
    lines += ["### Before and after, on held-out site images (out of fold; 95 % bootstrap intervals over patient groups)",
              "", "| metric | base model | adapted |", "|---|---|---|"]
    for key in HEADLINE:
        lines.append(f"| {key} | {_with_interval(before[key], record['intervals']['before'][key])} | "
                     f"{_with_interval(after[key], record['intervals']['after'][key])} |")
    lines.append(f"| flagged out-of-distribution | {_fmt(before['ood_fraction'])} | {_fmt(after['ood_fraction'])} |")
    lines += ["", "### Per class", "", "| class | n | recall before | recall after | F1 before | F1 after |",
              "|---|---|---|---|---|---|"]
    for name, row in after["per_class"].items():
        old = before["per_class"][name]
        lines.append(f"| {name} | {row['support']} | {_fmt(old['recall'])} | {_fmt(row['recall'])} | "
                     f"{_fmt(old['f1'])} | {_fmt(row['f1'])} |")
    lines += _breakdown_lines(before, after)
    lines += _retention_lines(record.get("retention"))
    lines += ["", "### Candidates (out of fold)", "",
              "The most capable candidate is kept unless a simpler one has the lower out-of-fold log-loss in at "
              f"least {CLEARLY_BETTER:.0%} of {BOOTSTRAP} paired bootstrap resamples of patient groups.", "",
              "| method | log-loss | macro-F1 | macro AUC | ECE | lower log-loss than the chosen (share of resamples) "
              "| fit time (s, all folds) |", "|---|---|---|---|---|---|---|"]
    for row in record["candidates"]:
        beats = row.get("lower_log_loss_than_chosen")
        lines.append(f"| {row['method']} | {_fmt(row.get('log_loss'))} | {_fmt(row['macro_f1'])} | "
                     f"{_fmt(row['macro_auc'])} | {_fmt(row['ece'])} | {'chosen' if beats is None else _fmt(beats)} | "
                     f"{row['seconds']:.1f} |")
    lines += evidence_lines()
    return "\n".join(lines) + "\n"


def evidence_lines() -> list[str]:
    """What adaptation bought on a site shift we can measure (benchmarks/bench_site_shift.py), if recorded."""
    path = Path(__file__).with_name(EVIDENCE_FILE)
    try:
        evidence = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    before, reference = evidence["before"], evidence["reference"]
    adult = evidence.get("source_on_adult_test")  # the same models on the source's own test split, if measured

    def row(*cells, adult_cells=("", "")) -> str:
        return "| " + " | ".join([*cells, *(adult_cells if adult else ())]) + " |"

    header = ["site images", "draws", "macro-F1", "macro AUC", "ECE"]
    lines = ["", "### What this procedure bought on a known site shift", "",
             "An adult-only model adapted to a pediatric hospital with N of its images, measured on that hospital's "
             f"test split ({evidence['site_test_images']} images, never used for adapting)"
             + (", and on the adult hospitals' test split (what adapting forgot)" if adult else "")
             + f"; mean over draws. Reproduce: `{evidence['command']}`.", "",
             row(*header, adult_cells=("adult test: macro-F1", "adult test: COVID-19 recall")),
             row(*["---"] * len(header), adult_cells=("---", "---")),
             row("0 (before)", "–", *_fmt_all(before),
                 adult_cells=(_fmt((adult or {}).get("macro_f1")), _fmt((adult or {}).get("recall", {}).get("covid"))))]
    for r in evidence["rows"]:
        lines.append(row(str(r["images"]), str(r.get("draws", "")), *_fmt_all(r),
                         adult_cells=(_fmt(r.get("adult_macro_f1")), _fmt(r.get("adult_covid_recall")))))
    seeds = [r["macro_f1"] for r in evidence.get("reference_per_seed", {}).values()]
    spread = (f", mean of {len(seeds)} training seeds: macro-F1 {_fmt(min(seeds))}–{_fmt(max(seeds))}"
              if len(seeds) > 1 else "")
    lines.append(row(f"all (a model trained on the site's ~4,100 images{spread})", "–", *_fmt_all(reference)))
    return lines


def _fmt_all(scores: dict) -> list[str]:
    return [_fmt(scores[k]) for k in ("macro_f1", "macro_auc", "ece")]


def _counts(counts: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items())


def _breakdown_lines(before: dict, after: dict) -> list[str]:
    lines = []
    for column, values in after["breakdown"].items():
        lines += ["", f"### By {column}", "", "| value | n | macro-F1 before | macro-F1 after |", "|---|---|---|---|"]
        for value, row in values.items():
            old = before["breakdown"][column][value]
            lines.append(f"| {value} | {row['n']} | {_fmt(old['macro_f1'])} | {_fmt(row['macro_f1'])} |")
    return lines


def _retention_lines(kept: dict | None) -> list[str]:
    """The base model and the adapted one on the base model's own held-out images (what adapting forgot)."""
    if not kept:
        return []
    before, after = kept["before"], kept["after"]
    lines = ["", "### What was kept of the base model's data", "",
             f"{kept['images']} held-out images of the base model's own data (`--source-data`, split {kept['split']}, "
             f"at most {kept['per_class_at_most']} per class; never used for adapting). Lower numbers after "
             "adapting are what it forgot.", "",
             "| | n | base model | adapted |", "|---|---|---|---|",
             f"| macro-F1 | {kept['images']} | {_fmt(before['macro_f1'])} | {_fmt(after['macro_f1'])} |",
             f"| macro AUC | {kept['images']} | {_fmt(before['macro_auc'])} | {_fmt(after['macro_auc'])} |"]
    for name, recall in before["recall"].items():
        lines.append(f"| recall {name} | {before['support'][name]} | {_fmt(recall)} | {_fmt(after['recall'][name])} |")
    return lines
