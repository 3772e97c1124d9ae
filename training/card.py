"""MODEL_CARD.md from the run's record and metrics (numbers are never typed in by hand)."""

from __future__ import annotations

from typing import Any

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
  per-age-group tables below; the adult-only rows are the honest estimate.
- **Adult normal vs adult pneumonia** is the weakest distinction; several adult
  sources carry NIH text-mined labels, which are noisy.
- Lateral views, pediatric COVID, other diseases (effusion, nodules, tuberculosis,
  devices) and post-processing styles not in the training data are out of scope; the
  model still answers one of its classes for them.
- The OOD flag catches images unlike the training set (other body parts, dental) but
  not every unusual chest X-ray; an unflagged image is not proof of a valid input.
- Input resolution is low (the model sees the image letterboxed to the input size);
  small findings are invisible to it."""


def render_card(session, training: dict[str, Any], results: dict[str, Any]) -> str:
    labels = list(session.labels)
    opt = training["options"]
    parts = [
        f"# cxrviewer model: {opt['arch']} on {training['data']} ({', '.join(labels)})",
        INTENDED_USE,
        _data_section(training),
        _training_section(session, training),
    ]
    for split in ("test", "val"):
        if split in results:
            parts.append(_metrics_section(split, results[split], labels))
    if "ood_probe" in results:
        parts.append(_probe_section(results["ood_probe"]))
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


def _training_section(session, training: dict[str, Any]) -> str:
    opt = training["options"]
    pre = session.preprocessing
    lines = [
        "## Model and training",
        "",
        f"- Architecture `{opt['arch']}`, initial weights `{opt['weights']}`, input {pre.input_size} px grayscale.",
        f"- Preprocessing (shared with the viewer): default window, border crop {pre.crop_border}, "
        f"intensity `{pre.intensity}`, letterbox to {pre.input_size} px.",
        f"- Augmentation `{opt['augment']}` (p={opt['augment_p']}), horizontal flip {training['hflip']}.",
        f"- Frozen stages {opt['freeze_stages']}, cached features {opt['cache_features']} "
        f"({opt['cache_views']} views), AdamW lr {opt['lr']}, weight decay {opt['weight_decay']}, "
        f"{opt['schedule']} schedule, batch {opt['batch_size']}, class-weighted loss {training['class_weights']}, "
        f"balanced sampler {training['balanced_sampler']}, per-group reweighting by "
        f"`{opt.get('reweight_by') or 'none'}`.",
        f"- Best epoch {training['best_epoch']} of {training['epochs_run']} run (early stopping on val macro-F1).",
    ]
    calibration = training.get("calibration")
    if calibration:
        lines.append(
            f"- Temperature {calibration['temperature']:.3f} (fitted on val). OOD: Mahalanobis distance of the "
            f"penultimate features to the nearest class mean (shared covariance, fitted on the unaugmented "
            f"train images); threshold {calibration['ood_threshold']:.2f} keeps "
            f"{100 * calibration['ood_keep_fraction_of_val']:.1f}% of val images unflagged."
        )
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def _metrics_section(split: str, result: dict[str, Any], labels: list[str]) -> str:
    overall = result["overall"]
    lines = [
        f"## Results on the {split} split (n={overall['n']})",
        "",
        f"Macro-F1 {_fmt(overall['macro_f1'])}, macro ROC-AUC {_fmt(overall['macro_auc'])}, accuracy "
        f"{_fmt(overall['accuracy'])}, ECE {_fmt(overall['ece'])}, flagged out-of-distribution "
        f"{100 * result['ood_fraction']:.1f}%.",
        "",
        "| class | n | precision | recall | F1 | AUC |",
        "|---|---|---|---|---|---|",
    ]
    for name in labels:
        c = overall["per_class"][name]
        lines.append(f"| {name} | {c['support']} | {_fmt(c['precision'])} | {_fmt(c['recall'])} | "
                     f"{_fmt(c['f1'])} | {_fmt(c['auc'])} |")
    for column, groups in result["subgroups"].items():
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
