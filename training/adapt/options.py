"""The settings of one adaptation run as a typed, frozen dataclass (a mistyped field fails at once)."""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, fields
from pathlib import Path

METHODS = ("recalibrate", "linear", "finetune")
FINETUNE_STARTS = ("base", "linear")


@dataclass(frozen=True)
class AdaptOptions:
    data: Path
    out: Path
    model: Path
    device: str = "auto"
    label_map: tuple[tuple[str, str], ...] = ()  # site label -> model label
    methods: tuple[str, ...] = METHODS
    folds: int = 3  # grouped cross-validation folds used to choose the method and report before/after
    views: int = 6  # cached views per image: the plain one and views - 1 augmented ones
    # Fine-tuning epochs over the site images (each epoch draws one view per image); 80 beat 40 on all
    # four 100-image draws of the site-shift benchmark's development set (site_shift_dev_sweep.py)
    epochs: int = 80
    # Fewer epochs when 80 would take more optimiser steps than this: a 200-image site's final fit
    # (the largest the site-shift benchmark measures) takes 800; a 300-image one would take 1,120 and
    # push the run past 10 minutes on 2 cores
    max_steps: int = 800
    batch_size: int = 32
    lr: float = 2e-3
    l2sp: float = 3e-4  # pull toward the base model's weights (L2-SP, Li et al. 2018); see bench_site_shift
    # Where fine-tuning starts: the base model's head, or the linear candidate's head fitted first
    # (LP-FT, Kumar et al. 2022: a fresh head's large early gradients distort the features less)
    finetune_start: str = "base"
    source_data: Path | None = None  # the base model's training data, mixed in against forgetting
    # The source mix: a large pool through few views, a fresh subset of it each epoch. With 60 a class
    # through 6 views, all of them every epoch (before 2026-12-08), the source images were memorised
    # rather than kept: a 300-image pediatric adaptation took the adult val COVID-19 sensitivity from
    # 0.94 to 0.74 (macro-F1 0.894 -> 0.807) and 12 min 54 s. 200 a class, 2 views, 120 an epoch: adult
    # test macro-F1 0.827 and COVID-19 sensitivity 0.930 (source model 0.870, 0.956) at 100 site images,
    # at some cost on the site (macro-F1 0.913 against 0.921; README "Forgetting")
    source_per_class: int = 200
    source_views: int | None = 2  # None: --views
    source_per_epoch: int | None = 120  # None: all of them every epoch
    bootstrap: int = 1000
    seed: int = 0
    resume: bool = False
    keep_work: bool = False

    def __post_init__(self) -> None:
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown or not self.methods:
            raise ValueError(f"--methods: unknown {unknown or 'empty list'}; choose from {', '.join(METHODS)}")
        if self.folds < 2:
            raise ValueError("--folds must be at least 2")
        optional = [v for v in (self.source_views, self.source_per_epoch) if v is not None]
        if min(self.views, self.epochs, self.batch_size, self.max_steps, *optional) < 1:
            raise ValueError("--views, --epochs, --max-steps, --batch-size, --source-views and --source-per-epoch "
                             "must be at least 1")
        if self.source_per_class < 1:
            raise ValueError("--source-per-class must be at least 1")
        if self.finetune_start not in FINETUNE_STARTS:
            raise ValueError(f"--finetune-start: {self.finetune_start!r}; choose from {', '.join(FINETUNE_STARTS)}")
        if self.lr <= 0 or self.l2sp < 0:
            raise ValueError("--lr must be positive and --l2sp not negative")

    @property
    def source_view_count(self) -> int:
        return self.source_views if self.source_views is not None else self.views

    def record(self) -> dict:
        """JSON-safe, for the model card and the run state."""
        out = {}
        for key, value in asdict(self).items():
            out[key] = str(value) if isinstance(value, Path) else value
        out["label_map"] = {a: b for a, b in self.label_map}
        out["methods"] = list(self.methods)
        return out

    def fingerprint(self) -> dict:
        """The settings that change results (a resumed run must match them)."""
        skip = {"out", "device", "resume", "keep_work"}
        return {k: v for k, v in self.record().items() if k not in skip}


def parse_label_map(text: str | None) -> tuple[tuple[str, str], ...]:
    """'PNEUMONIA=pneumonia,NORMAL=normal' -> (("PNEUMONIA", "pneumonia"), ("NORMAL", "normal"))."""
    if not text:
        return ()
    pairs = []
    for item in text.split(","):
        site, sep, model = item.partition("=")
        if not sep or not site.strip() or not model.strip():
            raise ValueError(f"--label-map: {item!r} is not SITE_LABEL=MODEL_LABEL")
        pairs.append((site.strip(), model.strip()))
    return tuple(pairs)


def options_from_args(args: argparse.Namespace, default_model: Path) -> AdaptOptions:
    """The one place argparse values become AdaptOptions."""
    names = {f.name for f in fields(AdaptOptions)}
    values = {k: v for k, v in vars(args).items() if k in names and v is not None}
    values["label_map"] = parse_label_map(getattr(args, "label_map", None))
    if isinstance(values.get("methods"), str):
        values["methods"] = tuple(m.strip() for m in values["methods"].split(",") if m.strip())
    values["model"] = values.get("model") or default_model
    return AdaptOptions(**values)
