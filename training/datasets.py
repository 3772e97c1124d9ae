"""torch Datasets: images through the shared preprocess (+ augment), and cached feature maps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from cxrviewer.io import load_image
from cxrviewer.model.preprocess import PreprocessConfig, preprocess

from .augment import AugmentConfig, augment
from .data import Sample


class ImageDataset(Dataset):
    """(input (1, S, S) float32, label id, index). Augmentation is seeded by (seed, epoch, index)
    so a resumed run or a cache rebuild sees the same views, in any worker."""

    def __init__(
        self,
        samples: Sequence[Sample],
        label_ids: Sequence[int],
        preprocessing: PreprocessConfig,
        augmentation: AugmentConfig | None = None,
        seed: int = 0,
        lung_boxes: Mapping[str, tuple[int, int, int, int] | None] | None = None,
    ) -> None:
        self.samples = list(samples)
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

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, int]:
        path = self.samples[index].path
        image = load_image(path)
        array = preprocess(image, self.preprocessing, self.lung_boxes.get(str(path))).array
        if self.augmentation is not None and self.augmentation.enabled:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            array = augment(array, self.augmentation, rng)
        return torch.from_numpy(array), self.label_ids[index], index


class CachedFeatureDataset(Dataset):
    """Frozen-stage feature maps cached on disk, ``views`` per image (view 0 unaugmented).

    Each epoch picks one view per image, seeded by (seed, epoch, index).
    """

    def __init__(self, views: Sequence[np.ndarray], label_ids: Sequence[int], seed: int = 0, random_view: bool = True) -> None:
        self.views = list(views)  # each (N, C, H, W) float16, usually a read-only memmap
        self.label_ids = list(label_ids)
        self.seed = seed
        self.random_view = random_view
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.views[0].shape[0]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, int]:
        view = 0
        if self.random_view and len(self.views) > 1:
            view = int(np.random.default_rng([self.seed, self.epoch, index]).integers(len(self.views)))
        features = torch.from_numpy(np.array(self.views[view][index], dtype=np.float32))
        return features, self.label_ids[index], index
