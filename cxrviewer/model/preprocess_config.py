"""The preprocessing settings a model was trained with (stored in its model.json).

Apart from preprocess.py so reading a model's metadata (the viewer's model summary, at
start-up) does not import OpenCV.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

INTENSITY_MODES = ("equalize", "clahe", "percentile", "none")


@dataclass(frozen=True)
class PreprocessConfig:
    input_size: int = 224
    # Histogram equalisation maps every image onto the same intensity
    # distribution, which removes a source/scanner shortcut (exposure, contrast).
    intensity: str = "equalize"
    crop_border: bool = True
    percentile_low: float = 1.0
    percentile_high: float = 99.0
    clahe_clip: float = 2.0
    clahe_tiles: int = 8
    # Crop to the lung fields (found by the lung model) plus this margin of their size on
    # every side, instead of to the whole film: the classifier then sees less of what
    # betrays the hospital or the patient's age (labels, collimation, arms, abdomen).
    lung_crop: bool = False
    lung_margin: float = 0.1
    lung_model: str = ""  # sha256 of the lung model's weights the boxes came from (provenance, checked on load)

    def __post_init__(self) -> None:
        if self.intensity not in INTENSITY_MODES:
            raise ValueError(f"intensity must be one of {INTENSITY_MODES}, got {self.intensity!r}")
        if self.input_size < 16:
            raise ValueError(f"input_size must be at least 16, got {self.input_size}")

    def to_dict(self) -> dict:
        data = asdict(self)
        if not self.lung_crop:  # model.json files written before lung cropping existed stay byte-identical
            for key in ("lung_crop", "lung_margin", "lung_model"):
                data.pop(key)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> PreprocessConfig:
        return cls(**data)
