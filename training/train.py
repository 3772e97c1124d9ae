"""`cxr train` / `python -m training.train`: fine-tune a classifier and export a model directory.

Same command on one process or under `torchrun --nproc_per_node=N`. Every epoch
writes OUT/checkpoint.pt atomically; --resume continues after a kill. At the end
the best epoch (val macro-F1) is calibrated (temperature), given an OOD detector
and written to OUT/model as model.safetensors + model.json + MODEL_CARD.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sys
from pathlib import Path

import numpy as np
import torch

from cxrviewer.log_setup import configure_logging
from cxrviewer.atomic_files import folder_problem
from cxrviewer.model.architectures import UnknownArchitectureError
from cxrviewer.model.weights import WeightsMismatchError

from . import presets
from .augment import AUGMENTATIONS
from .command_record import reproducing_command
from .data import DataError
from .distributed import cleanup_distributed, init_distributed
from .run_setup import RunLogging
from .session import TrainingSession


EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    b = presets.BASE
    parser.add_argument("--data", required=True, type=Path, help="CSV manifest (path,label[,split,group,...]) or ImageFolder root")
    parser.add_argument("--out", required=True, type=Path, help="output folder: log, checkpoints, model/")
    parser.add_argument("--preset", default="default", choices=sorted(presets.PRESETS), help="named defaults (training/presets.py)")
    parser.add_argument("--labels", default=None, help="comma-separated class names in model order (default: sorted labels in the data)")
    parser.add_argument("--arch", default=None, help=f"architecture (default {b.arch}); see cxrviewer.model.architectures")
    parser.add_argument("--weights", default=None, help="imagenet | none | PATH to a safetensors/tensor-only .pth file or a model directory (its network; the OOD detector is refitted)")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("-b", "--batch-size", type=int, default=None)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--weight-decay", type=float, default=None)
    parser.add_argument("--schedule", choices=("cosine", "plateau"), default=None)
    parser.add_argument("--warmup-epochs", type=float, default=None)
    parser.add_argument("--patience", type=int, default=None, help="early stopping: epochs without val macro-F1 gain")
    parser.add_argument("--clip-grad-norm", type=float, default=None, help="0 disables")
    parser.add_argument("--label-smoothing", type=float, default=None)
    parser.add_argument("--dropout", type=float, default=None)
    parser.add_argument("--img-size", type=int, default=None, help="model input side in pixels")
    parser.add_argument("--intensity", choices=("equalize", "clahe", "percentile", "none"), default=None)
    parser.add_argument("--no-crop-border", dest="crop_border", action="store_const", const=False, default=None)
    parser.add_argument("--lung-crop", action="store_const", const=True, default=None,
                        help="crop every image to its lung fields plus a margin (needs the lung model)")
    parser.add_argument("--lung-model", default=None, metavar="DIR", help="lung model directory (default: the bundled one)")
    parser.add_argument("--cam-lung-weight", type=float, default=None, metavar="W",
                        help="add W x (share of the Grad-CAM map outside the lung fields) to the loss: the manifest's "
                             "lung_mask column where a row has one, else the lung model's masks")
    parser.add_argument("--cam-infection-weight", type=float, default=None, metavar="W",
                        help="add W x (share of the map outside the drawn infection_mask), for rows that have one")
    parser.add_argument("--augment", default=None, help=f"comma list from {','.join(AUGMENTATIONS)} or 'none'")
    parser.add_argument("--augment-p", type=float, default=None, help="probability of each augmentation")
    parser.add_argument("--hflip", action="store_true", help="add horizontal flips (off by default: anatomy is not symmetric)")
    parser.add_argument("--balanced-sampler", action="store_true", help="draw classes equally often")
    parser.add_argument("--reweight-by", default=None, metavar="COLUMN",
                        help="weight samples so each value of this manifest column counts equally within its class")
    parser.add_argument("--no-class-weights", action="store_true", help="plain (unweighted) cross-entropy")
    parser.add_argument("--freeze-stages", type=int, default=None, help="freeze the first N stages (stem counts as one)")
    parser.add_argument("--cache-features", dest="cache_features", action="store_const", const=True, default=None,
                        help="cache the frozen stages' output for --cache-views views (needs --freeze-stages)")
    parser.add_argument("--cache-views", type=int, default=None)
    parser.add_argument("--cache-stages", type=int, default=None,
                        help="cache after this many stages (<= --freeze-stages; the rest of the frozen ones run per epoch)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="feature cache folder (default OUT/cache)")
    parser.add_argument("-j", "--workers", type=int, default=None, help="DataLoader worker processes")
    parser.add_argument("--val-fraction", type=float, default=None, help="used only when the data has no split column")
    parser.add_argument("--test-fraction", type=float, default=None)
    parser.add_argument("--ood-keep-fraction", type=float, default=None, help="share of val images the OOD threshold keeps")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps")
    parser.add_argument("--deterministic", action="store_true", help="deterministic kernels (slower on GPU)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    parser.add_argument("--stop-after-epoch", type=int, default=None,
                        help="stop after this epoch, checkpoint kept, no export (time-sliced jobs; continue with --resume)")
    parser.add_argument("--report-test", action="store_true", help="evaluate the exported model on the test split for the card")
    parser.add_argument("--ood-probe", type=Path, default=None, help="folder of non-chest images the card should show as flagged")
    parser.add_argument("--skip-image-check", action="store_true", help="do not decode every image before training")
    parser.add_argument("--tensorboard", action="store_true", help="log to OUT/tb when tensorboard is installed")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Train a cxrviewer model (research use only)", add_help=add_help)
    add_arguments(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    """Entry point for `cxr train`: clear messages and exit codes, no tracebacks for bad input."""
    problem = folder_problem(args.out)
    if problem:  # before any work: a read-only --out must not cost an hour of training
        print(f"cxr train: error: --out {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return main(args)
    except (DataError, UnknownArchitectureError, WeightsMismatchError, ValueError, FileNotFoundError) as exc:
        print(f"cxr train: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def main(args: argparse.Namespace) -> int:
    options = resolve_options(args)
    device = _device(args.device)
    dist_info = init_distributed(device)
    if dist_info.enabled and device.type == "cuda":
        device = torch.device("cuda", dist_info.local_rank)
    logging_setup = RunLogging(args.out, dist_info.is_main)
    try:
        seed_everything(options.seed + dist_info.rank, args.deterministic)
        session = TrainingSession(args, options, device, dist_info, command=command_line(args))
        session.run()
        return EXIT_OK
    finally:
        logging_setup.close()
        cleanup_distributed(dist_info)


def resolve_options(args: argparse.Namespace) -> presets.TrainOptions:
    """The one place argparse values and a preset become TrainOptions."""
    explicit = {key: getattr(args, key, None) for key in presets.TrainOptions.names()}
    options = presets.resolve(explicit, args.preset)
    if options.cache_features and not 1 <= options.cache_stages <= options.freeze_stages:
        raise ValueError("--cache-features needs --freeze-stages N (N >= 1) and --cache-stages <= N: "
                         "only frozen stages can be cached")
    if args.balanced_sampler and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ValueError("--balanced-sampler is not supported under torchrun; class weights are used instead")
    if options.cam_lung_weight < 0 or options.cam_infection_weight < 0:
        raise ValueError("--cam-lung-weight and --cam-infection-weight must be 0 or more")
    if options.epochs < 1 or options.batch_size < 1:
        raise ValueError("--epochs and --batch-size must be at least 1")
    return options


def command_line(args) -> str:
    """The `cxr train` command that reproduces this run."""
    return reproducing_command(["cxr", "train"], get_args_parser(add_help=False), args)


def _device(name: str) -> torch.device:
    from cxrviewer.model.predictor import resolve_device

    device = resolve_device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda requested but CUDA is not available")
    return device


def seed_everything(seed: int, deterministic: bool) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True, warn_only=True)


if __name__ == "__main__":  # torchrun's workers start here, not through `cxr train`
    from cxrviewer.malloc_tuning import tune_malloc

    tune_malloc()
    configure_logging(level=logging.WARNING)
    sys.exit(run(get_args_parser().parse_args()))
