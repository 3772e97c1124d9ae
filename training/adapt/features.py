"""Run the frozen part of the model once per image and view, and keep the result on disk.

The model is split before its OOD tap (``stages.<ood_tap>``): everything before it stays
frozen, and the adapted model keeps the base model's copy of the tap stage for its OOD
descriptor, so that descriptor equals the base model's and the OOD statistics remain valid. The frozen output is cached (float16, one file per view,
each written atomically by training.feature_cache), so every candidate method, every
fold and a resumed run reuse it; only the tail after the split is ever trained.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cxrviewer.atomic_files import atomic_write_bytes
from cxrviewer.model.architectures import CxrClassifier
from cxrviewer.model.lung_model import LungSegmenter, lung_box
from cxrviewer.model.preprocess import PreprocessConfig, preprocess

from ..augment import AugmentConfig, augment
from ..data import DataError, Sample
from ..distributed import DistInfo
from ..feature_cache import build_view, cache_key

log = logging.getLogger("training.adapt")

Progress = Callable[..., None]  # progress(phase, done, total, **details)
AUGMENT_P = 0.6  # as the cpu-cached training preset


@dataclass(frozen=True)
class FeatureSet:
    views: tuple[np.ndarray, ...]  # each (N, C, H, W) float16, view 0 unaugmented
    labels: np.ndarray  # (N,) model class ids
    descriptors: np.ndarray  # (N, D) OOD descriptors of view 0

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: np.ndarray) -> FeatureSet:
        return FeatureSet(tuple(np.asarray(v[index]) for v in self.views), self.labels[index],
                          self.descriptors[index])

    @staticmethod
    def concat(parts: Sequence[FeatureSet]) -> FeatureSet:
        views = min(len(p.views) for p in parts)
        return FeatureSet(
            tuple(np.concatenate([np.asarray(p.views[v]) for p in parts]) for v in range(views)),
            np.concatenate([p.labels for p in parts]),
            np.concatenate([p.descriptors for p in parts]),
        )


class _ArrayViews(torch.utils.data.Dataset):
    """Preprocessed inputs, augmented per (seed, view, index) as training.datasets.ImageDataset does."""

    def __init__(self, inputs: np.ndarray, augmentation: AugmentConfig, seed: int) -> None:
        self.inputs, self.augmentation, self.seed, self.view = inputs, augmentation, seed, 0

    def set_epoch(self, view: int) -> None:
        self.view = view

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, index: int):
        array = self.inputs[index].astype(np.float32)
        if self.view > 0:
            array = augment(array, self.augmentation, np.random.default_rng([self.seed, self.view, index]))
        return torch.from_numpy(array), 0, index


def split_stage(model: CxrClassifier) -> int:
    """Number of leading stages kept frozen (and cached): those before the OOD tap.

    The tap stage itself is retrained too (the last block group: on bench_site_shift's
    two 100-image draws the fine-tune candidate went from 0.918 to 0.928 macro-F1, see
    benchmarks/results/site_shift_100_stage7.json); the adapted model keeps the base
    model's copy of it for the OOD descriptor (CxrClassifier.freeze_ood_stage).
    """
    return model.ood_tap


def ood_stage(model: CxrClassifier) -> torch.nn.Module:
    """The weights the model's OOD statistics were fitted with at its tap."""
    return model.ood_stage if model.ood_stage is not None else model.stages[model.ood_tap]


def preprocessed_inputs(samples: Sequence[Sample], config: PreprocessConfig, path: Path,
                        progress: Progress | None = None, segmenter: LungSegmenter | None = None) -> np.ndarray:
    """Every image decoded and preprocessed once, cached as ``path`` (float16). All failures at once."""
    if path.is_file():
        return np.load(path)
    from cxrviewer.io import ImageLoadError, load_image

    def one(sample: Sample):
        try:
            image = load_image(sample.path)
            return preprocess(image, config, lung_box(image, config, segmenter)).array.astype(np.float16), None
        except ImageLoadError as exc:
            return None, f"row {sample.row}: cannot read {sample.path.name}: {exc}"

    arrays, problems = [], []
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="cxr-adapt") as pool:
        for done, (array, problem) in enumerate(pool.map(one, samples), 1):
            arrays.append(array)
            if problem:
                problems.append(problem)
            if progress and (done % 16 == 0 or done == len(samples)):
                progress("reading images", done, len(samples))
    if problems:
        shown = "\n  ".join(problems[:30])
        raise DataError(f"{len(problems)} image(s) cannot be read:\n  {shown}")
    stacked = np.stack(arrays)
    _save_npy_atomic(path, stacked)
    return stacked


def _save_npy_atomic(path: Path, array: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.save(buffer, array)
    atomic_write_bytes(path, buffer.getvalue())


def extract(model: CxrClassifier, samples: Sequence[Sample], label_ids: np.ndarray, config: PreprocessConfig,
            folder: Path, views: int, seed: int, device: torch.device, batch_size: int = 32,
            progress: Progress | None = None, name: str = "site", segmenter: LungSegmenter | None = None) -> FeatureSet:
    """The FeatureSet of ``samples``: frozen-stage maps for ``views`` views, cached under ``folder``."""
    settings = {"paths": [str(s.path) for s in samples], "pre": config.to_dict(), "seed": seed,
                "split": split_stage(model), "weights": _weights_digest(model)}
    folder = folder / f"{name}-{cache_key(settings)}"
    inputs = preprocessed_inputs(samples, config, folder / "inputs.npy", progress, segmenter)
    augmentation = AugmentConfig(probability=AUGMENT_P)
    dataset = _ArrayViews(inputs, augmentation, seed)
    maps = []
    for view in range(views):
        if progress:
            progress("computing features", view, views)
        maps.append(build_view(folder, model, dataset, view, split_stage(model), device, DistInfo(), batch_size, 0))
    if progress:
        progress("computing features", views, views)
    return FeatureSet(tuple(maps), np.asarray(label_ids, dtype=np.int64), ood_descriptors(model, maps[0]))


@torch.inference_mode()
def ood_descriptors(model: CxrClassifier, maps: np.ndarray, chunk: int = 256) -> np.ndarray:
    """Per-channel mean and std over space of the tap stage's output, as forward_with_features computes them."""
    stage = ood_stage(model).eval()
    parts = []
    for begin in range(0, len(maps), chunk):
        x = stage(torch.from_numpy(np.asarray(maps[begin:begin + chunk], dtype=np.float32)))
        parts.append(torch.cat([x.mean(dim=(2, 3)), x.std(dim=(2, 3))], dim=1).numpy())
    return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)


def _weights_digest(model: CxrClassifier) -> str:
    import hashlib

    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes()[:4096])
    return digest.hexdigest()[:16]
