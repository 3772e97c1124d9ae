"""MODEL_CARD.md from the run's record and metrics (numbers are never typed in by hand).

Re-render an existing model directory's card (e.g. to add a comparison with
another run trained on the same data):

    python -m training.card MODEL_DIR [--compare NAME=OTHER_MODEL_DIR ...]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cxrviewer.model.config import CONFIG_FILE
from cxrviewer.model.errors import ModelDirError
from cxrviewer.model.model_dir import read_model_dir, rewrite_card
from cxrviewer.model.preprocess import PreprocessConfig

log = logging.getLogger("training")

INTENDED_USE = """## Intended use

A **research** second reader inside cxrviewer: it shows class probabilities and a
Grad-CAM map for a frontal chest X-ray. It is **not a medical device and must not be
used for diagnosis** or to change any patient's care. Probabilities are
temperature-calibrated on the validation split of the training data only; they are
not calibrated for other hospitals, scanners or populations."""

FAILURE_MODES = """## Known failure modes and limits

- **Shortcut learning.** In the training data, class and origin are entangled (most
  pneumonia images are pediatric and from one hospital; COVID images come from other
  hospitals than the adult normals). Part of what the model learned may be age,
  hospital or scanner style rather than disease: compare the per-source and
  per-age-group tables above; the adult-only rows are the honest estimate.
- **Adult normal vs adult pneumonia** is the weakest distinction; several adult
  sources carry NIH text-mined labels, which are noisy.
- Lateral views, pediatric COVID, other diseases (effusion, nodules, tuberculosis,
  devices) and post-processing styles not in the training data are out of scope; the
  model still answers one of its classes for them.
- The OOD flag catches images unlike the training set (other body parts, dental) but
  not every unusual chest X-ray; an unflagged image is not proof of a valid input.
- Input resolution is low (the model sees the image letterboxed to the input size);
  small findings are invisible to it."""


def render_card(
    labels: Sequence[str],
    preprocessing: PreprocessConfig,
    training: dict[str, Any],
    results: dict[str, Any],
    comparisons: Sequence[tuple[str, dict[str, Any]]] = (),
    ood_layer: str = "",
    notes: Sequence[str] = (),
) -> str:
    labels = list(labels)
    opt = training["options"]
    parts = [
        f"# cxrviewer model: {opt['arch']} on {training['data']} ({', '.join(labels)})",
        INTENDED_USE,
        _data_section(training),
        _training_section(preprocessing, training, ood_layer),
    ]
    for split in ("test", "val"):
        if split in results:
            parts.append(_metrics_section(split, results[split], labels))
    if "ood_probe" in results:
        parts.append(_probe_section(results["ood_probe"]))
    if comparisons:
        parts.append(_comparison_section([("this model", training), *comparisons], labels))
    if notes:
        parts.append("## Notes\n\n" + "\n".join(f"- {note}" for note in notes))
    parts.append(FAILURE_MODES)
    parts.append("## Reproduce\n\n```\n" + training["command"] + "\n```\n\n"
                 f"git commit `{training['git_commit']}`, data manifest sha256 `{training['manifest_sha256']}`, "
                 f"torch {training['torch']}.")
    return "\n\n".join(parts) + "\n"


def _data_section(training: dict[str, Any]) -> str:
    sizes = ", ".join(f"{k} {v}" for k, v in training["split_sizes"].items())
    return (
        "## Training data\n\n"
        f"`{training['data']}` (images per split: {sizes}). The val split chose the epoch, the "
        "temperature and the OOD threshold; the test split was used only for the numbers below.\n\n"
        "For the bundled cxr3 model: COVID-19 Radiography Database (Qatar University, Tampere "
        "University and partners: COVID from BIMCV/PadChest, a German medical school, SIRM and "
        "published cases; normals from the RSNA challenge / NIH ChestX-ray14), COVID-QU-Ex "
        "non-COVID infections (RSNA), NIH ChestX-ray14 'Pneumonia' / 'No Finding' (noisy "
        "text-mined labels) and the Guangzhou pediatric set (Kermany et al. 2018). Known bias: "
        "76% of pneumonia is pediatric from one hospital, normals are mostly adult, COVID is "
        "adult and from other hospitals."
    )


def _training_section(pre: PreprocessConfig, training: dict[str, Any], ood_layer: str) -> str:
    opt = training["options"]
    lines = [
        "## Model and training",
        "",
        f"- Architecture `{opt['arch']}`, initial weights `{opt['weights']}`, input {pre.input_size} px grayscale.",
        f"- Preprocessing (shared with the viewer): default window, border crop {pre.crop_border}, "
        f"intensity `{pre.intensity}`, letterbox to {pre.input_size} px."
        + (f" Cropped to the lung fields found by the bundled lung model (margin {pre.lung_margin:.0%} of their "
           f"size; lung weights sha256 `{pre.lung_model[:12]}…`); where no plausible pair of lungs is found the "
           "whole film is used." if pre.lung_crop else ""),
        f"- Augmentation `{opt['augment']}` (p={opt['augment_p']}), horizontal flip {training['hflip']}.",
        f"- First {opt['freeze_stages']} stages frozen (the stem counts as one), cached features {opt['cache_features']} "
        f"({opt['cache_views']} views), AdamW lr {opt['lr']}, weight decay {opt['weight_decay']}, "
        f"{opt['schedule']} schedule, batch {opt['batch_size']}, class-weighted loss {training['class_weights']}, "
        f"balanced sampler {training['balanced_sampler']}, per-group reweighting by "
        f"`{opt.get('reweight_by') or 'none'}`.",
        f"- Best epoch {training['best_epoch']} of {training['epochs_run']} run (early stopping on val macro-F1).",
    ]
    if opt.get("cam_lung_weight") or opt.get("cam_infection_weight"):
        lines.append(
            f"- Grad-CAM losses (training/cam_loss.py): {opt.get('cam_lung_weight', 0)} x the share of each class's map "
            f"outside the lung fields (drawn masks where the manifest has a `lung_mask`, else the bundled lung "
            f"model's) and {opt.get('cam_infection_weight', 0)} x the share of the true class's map outside a drawn "
            "`infection_mask`, added to the cross-entropy: the maps are taught to lie on the lungs.")
    calibration = training.get("calibration")
    if calibration:
        lines.append(
            f"- Temperature {calibration['temperature']:.3f} (fitted on val). OOD: Mahalanobis distance of the "
            f"per-channel mean and standard deviation of the feature maps at `{ood_layer or 'the stage before last'}` "
            f"to the nearest class mean (shared covariance, fitted on the unaugmented train images); threshold {calibration['ood_threshold']:.2f} keeps "
            f"{100 * calibration['ood_keep_fraction_of_val']:.1f}% of val images unflagged."
        )
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def evaluation_schema(result: dict[str, Any]) -> dict[str, Any]:
    """A split's metrics in `cxr evaluate`'s schema; model dirs written before it used overall/subgroups."""
    if "overall" not in result:
        return result
    return {**result["overall"], "breakdown": result.get("subgroups", {}), "ood_fraction": result.get("ood_fraction")}


def _metrics_section(split: str, result: dict[str, Any], labels: list[str]) -> str:
    result = overall = evaluation_schema(result)
    lines = [
        f"## Results on the {split} split (n={overall['n']})",
        "",
        f"Macro-F1 {_fmt(overall['macro_f1'])}, macro ROC-AUC {_fmt(overall['macro_auc'])}, accuracy "
        f"{_fmt(overall['accuracy'])}, ECE {_fmt(overall['ece'])}, flagged out-of-distribution "
        f"{100 * (result['ood_fraction'] or 0):.1f}%.",
        "",
        "| class | n | precision | recall | F1 | AUC |",
        "|---|---|---|---|---|---|",
    ]
    for name in labels:
        c = overall["per_class"][name]
        lines.append(f"| {name} | {c['support']} | {_fmt(c['precision'])} | {_fmt(c['recall'])} | "
                     f"{_fmt(c['f1'])} | {_fmt(c['auc'])} |")
    for column, groups in result["breakdown"].items():
        lines += ["", f"By `{column}`:", "", "| " + column + " | n | accuracy | macro-F1 | "
                  + " | ".join(f"recall {n}" for n in labels) + " | OOD flagged |",
                  "|---" * (5 + len(labels)) + "|"]
        for value, g in groups.items():
            recalls = " | ".join(_fmt(g["per_class"][n]["recall"]) if g["per_class"][n]["support"] else "-" for n in labels)
            lines.append(f"| {value or '(none)'} | {g['n']} | {_fmt(g['accuracy'])} | {_fmt(g['macro_f1'])} | "
                         f"{recalls} | {100 * (g['ood_fraction'] or 0):.1f}% |")
    return "\n".join(lines)


def _probe_section(rows: list[dict[str, Any]]) -> str:
    lines = ["## Out-of-distribution probe", "", "| file | OOD score | flagged |", "|---|---|---|"]
    lines += [f"| {r['file']} | {r['ood_score']:.1f} | {'yes' if r['ood_flag'] else 'NO'} |" for r in rows]
    return "\n".join(lines)


def _comparison_section(runs: Sequence[tuple[str, dict[str, Any]]], labels: list[str]) -> str:
    """Same data, different recipes: val (what chose) and test, overall, per age group and per source."""
    splits = [sp for sp in ("val", "test") if all(sp in t.get("metrics", {}) for _, t in runs)]
    lines = ["## Comparison with other runs on the same data", "",
             "Each run's own command is in its model.json; differences are in the options below the tables. "
             "The val split chose; test numbers are shown for the record.", ""]
    for split in splits:
        lines += _comparison_table(runs, labels, split) + [""]
    base = runs[0][1]["options"]
    for name, training in runs[1:]:
        other = training["options"]
        changed = {k: other.get(k) for k in sorted(set(base) | set(other)) if base.get(k) != other.get(k)}
        lines.append(f"- {name}: " + (", ".join(f"{k}={v}" for k, v in sorted(changed.items())) or "same options"))
    return "\n".join(lines)


def _comparison_table(runs: Sequence[tuple[str, dict[str, Any]]], labels: list[str], split: str) -> list[str]:
    schemas = [(name, evaluation_schema(t["metrics"][split])) for name, t in runs]
    ages = sorted({g for _, r in schemas for g in r["breakdown"].get("age_group", {})})
    sources = sorted({g for _, r in schemas for g in r["breakdown"].get("source", {})})
    cells = [(g, n) for g in ages for n in labels]
    header = ("| run | macro-F1 | AUC | ECE | " + " | ".join(f"{g} {n} recall" for g, n in cells)
              + "".join(f" | {src} accuracy" for src in sources) + " |")
    lines = [f"{split} split:", "", header, "|---" * (4 + len(cells) + len(sources)) + "|"]
    for name, overall in schemas:
        by_age, by_source = overall["breakdown"].get("age_group", {}), overall["breakdown"].get("source", {})
        recalls = [by_age.get(g, {}).get("per_class", {}).get(n, {}) for g, n in cells]
        shown = [_fmt(r.get("recall")) if r.get("support") else "-" for r in recalls]
        accuracy = [_fmt(by_source.get(src, {}).get("accuracy")) for src in sources]
        lines.append(f"| {name} | {_fmt(overall['macro_f1'])} | {_fmt(overall['macro_auc'])} | "
                     f"{_fmt(overall['ece'])} | " + " | ".join(shown + accuracy) + " |")
    return lines


def rerender(model_dir: Path, comparisons: Sequence[tuple[str, Path]] = (), notes: Sequence[str] = ()) -> None:
    contents = read_model_dir(model_dir)
    config = contents.config
    if "options" not in config.training or "metrics" not in config.training:
        raise ModelDirError(f"{model_dir}/{CONFIG_FILE} has no training record to write a card from")
    others = []
    for name, other in comparisons:
        others.append((name, json.loads((Path(other) / CONFIG_FILE).read_text(encoding="utf-8"))["training"]))
    card = render_card(config.labels, config.preprocessing, config.training, config.training.get("metrics", {}),
                       others, ood_layer=config.ood.layer, notes=notes)
    rewrite_card(model_dir, card)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="re-render MODEL_CARD.md of a model directory")
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--compare", action="append", default=[], metavar="NAME=DIR",
                        help="add another model directory trained on the same data to a comparison table")
    parser.add_argument("--note", action="append", default=[], help="a sentence for the Notes section (repeatable)")
    args = parser.parse_args(argv)
    try:
        pairs = [tuple(item.split("=", 1)) for item in args.compare]
        if any(len(p) != 2 for p in pairs):
            parser.error("--compare takes NAME=DIR")
        rerender(args.model_dir, [(name, Path(path)) for name, path in pairs], args.note)
    except (ModelDirError, OSError, KeyError) as exc:
        print(f"training.card: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
