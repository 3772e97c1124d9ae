"""Cache the frozen stages' output once, for a few augmented views (CPU budget recipe).

With the first N stages frozen, their output for a given (image, augmentation
seed) never changes, so it is computed once and stored as float16 .npy files;
epochs then run only the trainable tail. View 0 is unaugmented (also used to fit
the OOD statistics); views 1.. use the augmentation seeded by (seed, view, index).
Each view file appears atomically when complete, so a killed run resumes the
cache where it stopped. Under torchrun each rank fills its share of the rows.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset
from tqdm import tqdm

from .distributed import DistInfo, barrier

log = logging.getLogger(__name__)


def cache_key(settings: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def build_view(
    folder: Path,
    model: torch.nn.Module,
    dataset: Dataset,
    view: int,
    stages: int,
    device: torch.device,
    dist_info: DistInfo,
    batch_size: int,
    workers: int,
    mask_grid: int | None = None,
) -> np.ndarray:
    """The (N, C, H, W) float16 memmap of ``view`` after ``stages`` stages, computed if absent.

    A cache of the same view at an earlier stage is extended (only the stages in
    between run) instead of decoding every image again. With ``mask_grid`` the dataset's
    items carry masks (a fourth member, ImageDataset with ``masks``): the view's masks
    (``view_masks``) are cached too, computed in the same pass over the images.
    """
    path = folder / f"view{view}-stage{stages}.npy"
    wants_masks = mask_grid is not None
    if not path.is_file() or (wants_masks and not masks_path(folder, view).is_file()):
        earlier = None if wants_masks else _earlier_cache(folder, view, stages)
        if earlier is not None:
            start, source = earlier[0], np.load(earlier[1], mmap_mode="r")
            batches = _cached_batches(source, dist_info, batch_size)
            probe = torch.zeros(1, *source.shape[1:])
        else:
            start, batches = 0, _image_batches(dataset, view, dist_info, batch_size, workers)
            probe = torch.zeros(1, *dataset[0][0].shape)
        mask_shape = (2, mask_grid, mask_grid) if wants_masks else None
        _compute_view(path, model, batches, len(dataset), start, stages, probe, device, dist_info, view, mask_shape)
    return np.load(path, mmap_mode="r")


def masks_path(folder: Path, view: int) -> Path:
    return folder / f"view{view}-masks.npy"


def view_masks(folder: Path, view: int) -> np.ndarray:
    """The (N, 2, G, G) float16 lung and infection shares of a view that build_view cached."""
    return np.load(masks_path(folder, view), mmap_mode="r")


def _earlier_cache(folder: Path, view: int, stages: int) -> tuple[int, Path] | None:
    found = []
    for candidate in folder.glob(f"view{view}-stage*.npy"):
        stage = int(candidate.stem.rsplit("stage", 1)[1])
        if stage < stages:
            found.append((stage, candidate))
    return max(found) if found else None


def _image_batches(dataset: Dataset, view: int, dist_info: DistInfo, batch_size: int, workers: int):
    dataset.set_epoch(view)
    mine = list(range(dist_info.rank, len(dataset), dist_info.world_size))
    loader = DataLoader(Subset(dataset, mine), batch_size=batch_size, num_workers=workers, persistent_workers=False)
    for batch in loader:
        yield batch[0], batch[2].numpy(), (batch[3] if len(batch) > 3 else None)


def _cached_batches(source: np.ndarray, dist_info: DistInfo, batch_size: int):
    mine = np.arange(dist_info.rank, source.shape[0], dist_info.world_size)
    for begin in range(0, len(mine), batch_size):
        indices = mine[begin : begin + batch_size]
        yield torch.from_numpy(np.asarray(source[indices], dtype=np.float32)), indices, None


def _compute_view(path, model, batches, count, start, stop, probe, device, dist_info, view, mask_shape=None) -> None:
    tmp, tmp_masks = _partial(path, dist_info), _partial(masks_path(path.parent, view), dist_info)
    model.eval()
    with torch.inference_mode():
        shape = tuple(model.forward_stages(probe.to(device), start, stop).shape[1:])
    if dist_info.is_main:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if dist_info.is_main:
            np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float16, shape=(count, *shape)).flush()
            if mask_shape is not None:
                np.lib.format.open_memmap(tmp_masks, mode="w+", dtype=np.float16, shape=(count, *mask_shape)).flush()
        barrier(dist_info)
        _fill(tmp, tmp_masks if mask_shape is not None else None, model, batches, start, stop, device, dist_info,
              f"cache view {view} stage {stop}")
        barrier(dist_info)
        if dist_info.is_main:
            if mask_shape is not None:  # the masks first: features without them mean "recompute"
                os.replace(tmp_masks, masks_path(path.parent, view))
            os.replace(tmp, path)
    except BaseException:  # an error or Ctrl-C: no half-written file is left behind
        if dist_info.is_main:
            tmp.unlink(missing_ok=True)
            tmp_masks.unlink(missing_ok=True)
        raise
    barrier(dist_info)
    log.info("cached view %d after %d stages: %d feature maps of shape %s", view, stop, count, shape)


def _fill(tmp: Path, tmp_masks: Path | None, model, batches, start, stop, device, dist_info, desc: str) -> None:
    """Every batch's maps (and masks) written into the memory-mapped partial files."""
    out = np.load(tmp, mmap_mode="r+")
    masks_out = np.load(tmp_masks, mmap_mode="r+") if tmp_masks is not None else None
    # channels_last makes the depthwise convolutions ~1.5x faster on CPU (oneDNN).
    model.to(memory_format=torch.channels_last)
    try:
        with torch.inference_mode():
            total = (len(out) + dist_info.world_size - 1) // dist_info.world_size
            bar = tqdm(total=total, desc=desc, disable=not dist_info.is_main, mininterval=5.0)
            for inputs, indices, masks in batches:
                inputs = inputs.to(device).contiguous(memory_format=torch.channels_last)
                out[indices] = model.forward_stages(inputs, start, stop).float().cpu().numpy().astype(np.float16)
                if masks_out is not None:
                    masks_out[indices] = masks.numpy().astype(np.float16)
                bar.update(len(indices))
            bar.close()
    finally:
        model.to(memory_format=torch.contiguous_format)
    out.flush()
    if masks_out is not None:
        masks_out.flush()


def _partial(path: Path, dist_info: DistInfo) -> Path:
    """Where ``path`` is written before its atomic rename.

    Ranks of one distributed run share it (each fills its share of one memory map); a lone
    process names it after itself, so two runs filling one cache folder at once (two
    ``cxr adapt`` runs, a benchmark's parallel draws) never rename each other's file away.
    """
    if dist_info.world_size > 1:
        return path.with_name(f".{path.name}.partial")
    return path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.partial")

