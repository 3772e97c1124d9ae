"""What crosses threads between the window and the inference worker (no Qt, no torch).

Everything is a frozen dataclass of plain data. Every result and error carries
the ``request_id`` returned by ``InferenceWorker.submit`` / ``submit_batch``, so
the window can match it to what it asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np

from cxrviewer.io.image import LoadedImage
from cxrviewer.model.cam_options import CAM_METHODS, GRADCAM, check_method

__all__ = ["CAM_METHODS", "DEFAULT_CAM_METHOD", "DEFAULT_UNCERTAIN_BELOW", "BatchProgress", "InferenceError",
           "InferenceRequest", "InferenceResult", "LungReading", "ModelInfo", "ModelLoadFailure"]

DEFAULT_CAM_METHOD = GRADCAM
# A top-class probability below this marks the result "uncertain" when the model
# directory does not set its own threshold (ModelConfig.uncertain_below).
DEFAULT_UNCERTAIN_BELOW = 0.6


@dataclass(frozen=True, eq=False)
class InferenceRequest:
    """One image to analyse: an already decoded ``image`` or a ``path`` to decode."""

    request_id: int
    image: LoadedImage | None = None
    path: Path | None = None
    cam: bool = True
    cam_method: str = DEFAULT_CAM_METHOD
    target: int | str | None = None  # class to explain: None = the predicted class
    batch_id: int | None = None  # set for the images of a batch (triage)

    def __post_init__(self) -> None:
        if (self.image is None) == (self.path is None):
            raise ValueError("give exactly one of image and path")
        check_method(self.cam_method)
        if self.image is not None:
            object.__setattr__(self, "path", self.image.path)
        else:
            object.__setattr__(self, "path", Path(self.path))


@dataclass(frozen=True, eq=False)
class LungReading:
    """The lung fields found in one image (plain data; the mask is on the image's pixel grid)."""

    found: bool  # a plausible pair of lung fields
    area_fraction: float  # lung area / image content area
    reason: str  # why not found ("" when found)
    mask: np.ndarray | None = field(repr=False)  # bool (H, W), aligned with LoadedImage.pixels; None once stripped
    # Closed outlines in image pixel coordinates, each float32 (K, 2) as (x, y), for drawing.
    outlines: tuple[np.ndarray, ...] = field(default=(), repr=False)
    cam_in_lungs: float | None = None  # share of the heat map's mass inside the lungs (None: no map)


# Below this share of the map's mass inside the lung fields, the viewer cautions the reader.
CAM_IN_LUNGS_CAUTION_BELOW = 0.5
CAM_OUTSIDE_LUNGS_CAUTION = ("The model's attention is mostly outside the lung fields: treat this reading "
                             "with suspicion.")


@dataclass(frozen=True, eq=False)
class InferenceResult:
    """The model's reading of one image. Research use only, not a diagnosis."""

    request_id: int
    path: Path
    probabilities: Mapping[str, float]  # label -> temperature-calibrated probability, sums to 1
    label: str  # the most probable class
    confidence: float  # its calibrated probability
    uncertain: bool  # confidence below ModelInfo.uncertain_below
    ood_score: float  # Mahalanobis distance; higher = less like the training chest X-rays
    ood_flag: bool  # True: the image is not like what the model was trained on
    # float32 (H, W) in [0, 1], pixel-aligned with LoadedImage.pixels; None when not asked for.
    cam: np.ndarray | None
    cam_method: str | None
    cam_label: str | None  # the class the map explains
    timings: Mapping[str, float]  # load_ms (paths only), preprocess_ms, forward_ms, cam_ms, total_ms
    batch_id: int | None = None
    lungs: LungReading | None = None  # None when no lung model is installed

    @property
    def cam_strength(self) -> float:
        """The explained class's probability: the heat map is drawn this strong."""
        return float(self.probabilities.get(self.cam_label, 1.0)) if self.cam_label else 1.0

    @property
    def attention_outside_lungs(self) -> bool:
        """True when the lungs were found and most of the map lies outside them."""
        lungs = self.lungs
        return (lungs is not None and lungs.found and lungs.cam_in_lungs is not None
                and lungs.cam_in_lungs < CAM_IN_LUNGS_CAUTION_BELOW)

    def __post_init__(self) -> None:
        object.__setattr__(self, "probabilities", MappingProxyType(dict(self.probabilities)))
        object.__setattr__(self, "timings", MappingProxyType(dict(self.timings)))


@dataclass(frozen=True)
class InferenceError:
    """A request that failed. ``message`` is plain words for the user (no patient data)."""

    request_id: int
    path: Path | None
    message: str
    batch_id: int | None = None


@dataclass(frozen=True)
class BatchProgress:
    batch_id: int
    done: int  # images finished, failed ones included
    failed: int
    total: int
    finished: bool = False
    cancelled: bool = False


@dataclass(frozen=True)
class ModelInfo:
    """The model the worker is using now."""

    model_dir: Path
    architecture: str
    labels: tuple[str, ...]
    input_size: int
    cam_target_layer: str
    device: str  # "cuda", "mps" or "cpu"
    device_name: str  # for people: "NVIDIA H100 80GB HBM3", "Apple GPU (MPS)", "CPU (ONNX Runtime, 8 threads, x86_64)"
    uncertain_below: float
    ood_threshold: float
    load_ms: float = 0.0
    card: str = field(default="", repr=False)  # MODEL_CARD.md text, for an About/Model dialog
    lung_model: str = ""  # the lung-field model in use ("" = none: no outlines, no lung check)
    forward_form: str = ""  # how the classifier runs: "onednn-fused", "folded-channels-last", "none" (as loaded)


@dataclass(frozen=True)
class ModelLoadFailure:
    """``load_model`` refused a directory; ``current`` is the model still in use (None: none)."""

    model_dir: Path
    message: str
    current: ModelInfo | None


@dataclass(frozen=True)
class RequestStarted:
    """The worker thread began analysing an interactive request."""

    request_id: int
