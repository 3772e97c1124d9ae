"""Training throughput: our train_one_epoch vs a bare PyTorch loop, same model and data, same run.

    python benchmarks/bench_train.py [--arch efficientnet_lite0] [--img-size 224] [--images 64]

Prints one JSON object. The baseline is measured in the same process, each
contender gets one untimed warm-up epoch, and the two alternate every repeat
(medians), so the ratio is meaningful on any machine; the absolute numbers are not.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from cxrviewer.model.architectures import build_model
from training.engine import train_one_epoch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import interleaved_median_ms  # noqa: E402


def make_loader(images: int, size: int, classes: int, batch_size: int) -> DataLoader:
    generator = torch.Generator().manual_seed(0)
    inputs = torch.rand(images, 1, size, size, generator=generator)
    labels = torch.randint(0, classes, (images,), generator=generator)
    return DataLoader(TensorDataset(inputs, labels, torch.arange(images)), batch_size=batch_size, shuffle=False)


def bare_epoch(model: nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer) -> int:
    model.train()
    criterion = nn.CrossEntropyLoss()
    seen = 0
    for inputs, targets, _ in loader:
        optimizer.zero_grad()
        criterion(model(inputs), targets).backward()
        optimizer.step()
        seen += len(targets)
    return seen


def ours_epoch(model: nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer, freeze: int) -> int:
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    stats = train_one_epoch(model, nn.CrossEntropyLoss(), optimizer, loader, torch.device("cpu"), 1,
                            frozen_stages=freeze, scheduler=scheduler, clip_grad_norm=1.0, show_progress=False)
    return int(stats["images"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="efficientnet_lite0")
    parser.add_argument("--img-size", type=int, default=224)
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--freeze-stages", type=int, default=0, help="also applied to the bare loop (requires_grad off)")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.manual_seed(0)
    loader = make_loader(args.images, args.img_size, 3, args.batch_size)
    runs = {}
    for name in ("bare", "ours"):
        model = build_model(args.arch, 3)
        for stage in list(model.stages)[: args.freeze_stages]:
            stage.requires_grad_(False)
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
        if name == "bare":
            runs[name] = lambda model=model, optimizer=optimizer: bare_epoch(model, loader, optimizer)
        else:
            runs[name] = lambda model=model, optimizer=optimizer: ours_epoch(model, loader, optimizer, args.freeze_stages)
    median_ms = interleaved_median_ms(runs, args.repeats)
    results = {name: args.images / (ms / 1e3) for name, ms in median_ms.items()}
    print(json.dumps({
        "benchmark": "train_one_epoch",
        "arch": args.arch, "img_size": args.img_size, "images": args.images, "batch_size": args.batch_size,
        "freeze_stages": args.freeze_stages, "torch": torch.__version__, "threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "bare_images_per_s": round(results["bare"], 2),
        "ours_images_per_s": round(results["ours"], 2),
        "ours_vs_bare": round(results["ours"] / results["bare"], 3),
        "repeats": args.repeats,
    }, indent=2))


if __name__ == "__main__":
    main()
