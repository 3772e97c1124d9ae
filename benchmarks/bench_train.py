"""Training throughput on real data: our train_one_epoch vs a bare PyTorch loop on the same loader, same run.

    python benchmarks/bench_train.py [--data ../shared/data/cxr3/labels.csv] [--images 256] [--repeats 7]
        [--arch efficientnet_lite0] [--batch-size 32] [--workers 2] [--freeze-stages 0]

Real cxr3 images (the first --images rows of the train split, every class, in a fixed
shuffled order) go through the real training input pipeline: training.datasets.ImageDataset
(load_image, the shared preprocess, the default augmentations seeded per image) in a
torch DataLoader with the training defaults (batch 32, 2 worker processes, shuffled,
drop_last). Both contenders consume that same loader, reseeded so every epoch yields the
same batches:

  ours          training.engine.train_one_epoch (class-weighted cross-entropy, AdamW with
                training's weight-decay groups, the per-step LR schedule, gradient clipping at
                1.0, frozen stages as given)
  bare          a plain loop doing the same work on the same batches: forward, the same loss,
                zero_grad, backward, clip_grad_norm_, optimizer and scheduler step
  loader_only   the loader alone (decode + preprocess + augment), for scale: both contenders
                include it

Each contender gets one untimed warm-up epoch and they alternate every repeat (medians),
so the ratio holds on a shared machine; the absolute numbers do not. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import platform
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import interleaved_median_ms  # noqa: E402

from cxrviewer.malloc_tuning import tune_malloc  # noqa: E402
from cxrviewer.model.architectures import build_model  # noqa: E402
from cxrviewer.model.preprocess import PreprocessConfig  # noqa: E402
from training.augment import AugmentConfig  # noqa: E402
from training.data import class_weights, read_csv_manifest  # noqa: E402
from training.datasets import ImageDataset  # noqa: E402
from training.engine import train_one_epoch  # noqa: E402
from training.presets import TrainOptions  # noqa: E402

log = logging.getLogger("bench_train")
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "cxr3" / "labels.csv"
LABELS = ("normal", "pneumonia", "covid")


def train_samples(csv: Path, count: int, seed: int = 0) -> list:
    samples, _ = read_csv_manifest(csv)
    train = [s for s in samples if s.split == "train"]
    if len(train) < count:
        raise SystemExit(f"{csv} has only {len(train)} train rows, fewer than --images {count}")
    order = np.random.default_rng(seed).permutation(len(train))[:count]
    return [train[i] for i in sorted(order)]


class SameBatches:
    """A DataLoader whose shuffle generator is reseeded each epoch, so every pass yields the same batches."""

    def __init__(self, loader: DataLoader, generator: torch.Generator, seed: int = 0) -> None:
        self.loader, self.generator, self.seed = loader, generator, seed

    def __iter__(self):
        self.generator.manual_seed(self.seed)
        return iter(self.loader)

    def __len__(self) -> int:
        return len(self.loader)


def optimizer_for(model: nn.Module, options: TrainOptions) -> torch.optim.Optimizer:
    """training.session's AdamW: no weight decay on norms and biases."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    return torch.optim.AdamW([{"params": decay, "weight_decay": options.weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=options.lr)


def schedule(steps_per_epoch: int, options: TrainOptions):
    warmup = max(1, int(options.warmup_epochs * steps_per_epoch))
    total = max(warmup + 1, options.epochs * steps_per_epoch)

    def factor(step: int) -> float:  # training.session's warm-up then cosine
        if step < warmup:
            return (step + 1) / warmup
        return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min((step - warmup) / max(1, total - warmup), 1.0)))

    return factor


def bare_epoch(model, criterion, optimizer, scheduler, loader, clip: float) -> int:
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    seen, total_loss = 0, 0.0
    for inputs, targets, _ in loader:
        loss = criterion(model(inputs), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(params, clip)
        optimizer.step()
        scheduler.step()
        total_loss += loss.item() * len(targets)
        seen += len(targets)
    return seen


def loader_only(loader) -> int:
    return sum(len(targets) for _, targets, _ in loader)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="cxr3 labels.csv (its train split is used)")
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--arch", default="efficientnet_lite0")
    parser.add_argument("--batch-size", type=int, default=TrainOptions.batch_size)
    parser.add_argument("--workers", type=int, default=TrainOptions.workers)
    parser.add_argument("--freeze-stages", type=int, default=0, help="also applied to the bare loop (requires_grad off)")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.images < args.batch_size:
        parser.error("--repeats must be at least 1 and --images at least --batch-size")
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    torch.manual_seed(0)
    malloc_tuned = tune_malloc()  # as the cxr and cxrviewer executables do at start-up
    options = TrainOptions(arch=args.arch, batch_size=args.batch_size, workers=args.workers)
    samples = train_samples(args.data, args.images)
    label_ids = [LABELS.index(s.label) for s in samples]
    preprocessing = PreprocessConfig(input_size=options.img_size, intensity=options.intensity,
                                     crop_border=options.crop_border)
    augmentation = AugmentConfig.from_names(options.augment, probability=options.augment_p)
    dataset = ImageDataset(samples, label_ids, preprocessing, augmentation, seed=options.seed)
    generator = torch.Generator()
    loader = SameBatches(DataLoader(dataset, batch_size=args.batch_size, shuffle=True, generator=generator,
                                    num_workers=args.workers, drop_last=True), generator)
    weights = torch.from_numpy(class_weights(label_ids, len(LABELS)))
    images_per_epoch = len(loader) * args.batch_size

    runs = {}
    for name in ("ours", "bare"):
        model = build_model(args.arch, len(LABELS), options.dropout)
        for stage in list(model.stages)[: args.freeze_stages]:
            stage.requires_grad_(False)
        optimizer = optimizer_for(model, options)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule(len(loader), options))
        criterion = nn.CrossEntropyLoss(weight=weights)
        if name == "ours":
            runs[name] = lambda m=model, c=criterion, o=optimizer, s=scheduler: train_one_epoch(
                m, c, o, loader, torch.device("cpu"), 1, frozen_stages=args.freeze_stages, scheduler=s,
                clip_grad_norm=options.clip_grad_norm, show_progress=False)
        else:
            runs[name] = lambda m=model, c=criterion, o=optimizer, s=scheduler: bare_epoch(
                m, c, o, s, loader, options.clip_grad_norm)
    runs["loader_only"] = lambda: loader_only(loader)
    log.info("%d train images from %s, %d batches of %d, %d workers", len(samples), args.data, len(loader),
             args.batch_size, args.workers)
    median_ms = interleaved_median_ms(runs, args.repeats)
    rates = {name: round(images_per_epoch / (ms / 1e3), 2) for name, ms in median_ms.items()}
    print(json.dumps({
        "benchmark": "train_one_epoch",
        "data": str(args.data), "split": "train", "images": images_per_epoch, "arch": args.arch,
        "img_size": options.img_size, "batch_size": args.batch_size, "workers": args.workers,
        "augment": sorted(augmentation.enabled), "freeze_stages": args.freeze_stages,
        "torch": torch.__version__, "threads": torch.get_num_threads(), "machine": platform.machine(),
        "repeats": args.repeats, "malloc_tuning": malloc_tuned,
        "median_epoch_s": {name: round(ms / 1e3, 2) for name, ms in median_ms.items()},
        "images_per_s": rates,
        "ours_vs_bare": round(rates["ours"] / rates["bare"], 3),
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
