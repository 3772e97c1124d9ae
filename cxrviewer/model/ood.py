"""Out-of-distribution score: Mahalanobis distance on penultimate features.

Class-conditional means with one shared, shrunk covariance (Lee et al. 2018).
The score is the distance to the nearest class mean; a high score means "not like
the chest X-rays this model was trained on".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class MahalanobisOOD:
    class_means: torch.Tensor  # (C, D) float32
    precision: torch.Tensor  # (D, D) float32

    @classmethod
    def fit(cls, features: np.ndarray, labels: np.ndarray, num_classes: int, shrinkage: float = 0.1) -> MahalanobisOOD:
        feats = features.astype(np.float64)
        means = np.stack([_class_mean(feats, labels, c) for c in range(num_classes)])
        centred = feats - means[labels]
        cov = centred.T @ centred / max(len(feats) - 1, 1)
        # Shrink toward a scaled identity: D can be close to N, and the raw
        # covariance is then too poorly conditioned to invert.
        target = np.eye(cov.shape[0]) * np.trace(cov) / cov.shape[0]
        cov = (1 - shrinkage) * cov + shrinkage * target
        precision = np.linalg.inv(cov)
        return cls(torch.from_numpy(means).float(), torch.from_numpy(precision).float())

    def score(self, features: torch.Tensor) -> torch.Tensor:
        """(N, D) -> (N,) distance to the nearest class mean."""
        feats = features.float().to(self.class_means.device)
        diffs = feats[:, None, :] - self.class_means[None]  # (N, C, D)
        squared = torch.einsum("ncd,de,nce->nc", diffs, self.precision, diffs)
        return squared.clamp_min(0).min(dim=1).values.sqrt()

    def to(self, device: torch.device | str) -> MahalanobisOOD:
        return MahalanobisOOD(self.class_means.to(device), self.precision.to(device))

    def tensors(self) -> dict[str, torch.Tensor]:
        return {"ood.class_means": self.class_means.contiguous(), "ood.precision": self.precision.contiguous()}

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor]) -> MahalanobisOOD:
        return cls(tensors["ood.class_means"].float(), tensors["ood.precision"].float())


def _class_mean(features: np.ndarray, labels: np.ndarray, cls: int) -> np.ndarray:
    members = features[labels == cls]
    # A class absent from the fit set (tiny data) falls back to the global mean.
    return members.mean(axis=0) if len(members) else features.mean(axis=0)


def threshold_from_scores(scores: np.ndarray, keep_fraction: float = 0.995) -> float:
    """Threshold that keeps ``keep_fraction`` of in-distribution (val) images unflagged."""
    return float(np.quantile(scores, keep_fraction))
