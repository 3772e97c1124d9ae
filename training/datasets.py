"""torch Datasets: images through the shared preprocess (+ augment), and cached feature maps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from cxrviewer.io import load_image
from cxrviewer.model.preprocess import PreprocessConfig, preprocess

from .augment import AugmentConfig, augment_with_masks
from .data import Sample
from .lung_masks import on_model_grid


class ImageDataset(Dataset):
    """(input (1, S, S) float32, label id, index). Augmentation is seeded by (seed, epoch, index)
    so a resumed run or a cache rebuild sees the same views, in any worker.

    With ``masks`` (training.lung_masks), items get a fourth member: float32 (2, G, G), the
    share of each cell of a ``mask_grid`` grid over the input inside the lung fields and the
    infected region, moved with the image by the same augmentation.
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        label_ids: Sequence[int],
        preprocessing: PreprocessConfig,
        augmentation: AugmentConfig | None = None,
        seed: int = 0,
        lung_boxes: Mapping[str, tuple[int, int, int, int] | None] | None = None,
        masks: Mapping[str, np.ndarray] | None = None,
        mask_grid: int = 56,
    ) -> None:
        self.samples = list(samples)
        self.masks = masks
        self.mask_grid = mask_grid
        self.lung_boxes = lung_boxes or {}
        self.label_ids = list(label_ids)
        self.preprocessing = preprocessing
        self.augmentation = augmentation
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple:
        path = self.samples[index].path
        image = load_image(path)
        pre = preprocess(image, self.preprocessing, self.lung_boxes.get(str(path)))
        array = pre.array
        shares = None if self.masks is None else list(on_model_grid(self.masks[str(path)], pre.geometry, self.mask_grid))
        if self.augmentation is not None and self.augmentation.enabled:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            array, shares = augment_with_masks(array, shares or (), self.augmentation, rng)
        if self.masks is None:
            return torch.from_numpy(array), self.label_ids[index], index
        return torch.from_numpy(array), self.label_ids[index], index, torch.from_numpy(np.stack(shares))


class CachedFeatureDataset(Dataset):
    """Frozen-stage feature maps cached on disk, ``views`` per image (view 0 unaugmented).

    Each epoch picks one view per image, seeded by (seed, epoch, index). With ``masks`` (one
    (N, 2, G, G) array per view, as ImageDataset makes them), items get them as a fourth member.
    """

    def __init__(self, views: Sequence[np.ndarray], label_ids: Sequence[int], seed: int = 0, random_view: bool = True,
                 masks: Sequence[np.ndarray] | None = None) -> None:
        self.views = list(views)  # each (N, C, H, W) float16, usually a read-only memmap
        self.masks = list(masks) if masks is not None else None
        self.label_ids = list(label_ids)
        self.seed = seed
        self.random_view = random_view
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.views[0].shape[0]

    def __getitem__(self, index: int) -> tuple:
        view = 0
        if self.random_view and len(self.views) > 1:
            view = int(np.random.default_rng([self.seed, self.epoch, index]).integers(len(self.views)))
        features = torch.from_numpy(np.array(self.views[view][index], dtype=np.float32))
        if self.masks is None:
            return features, self.label_ids[index], index
        return features, self.label_ids[index], index, torch.from_numpy(np.array(self.masks[view][index], dtype=np.float32))
