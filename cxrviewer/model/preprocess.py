"""The one preprocessing function used by training AND the viewer (no train/serve skew).

LoadedImage -> default window (bone bright, imaging.windowing.model_grey) -> border crop -> resize (aspect kept) -> intensity
normalisation -> letterbox pad to a square. The returned Geometry records every
step so a map at model resolution (Grad-CAM) can be put back on the full image.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from cxrviewer.imaging.windowing import model_grey
from cxrviewer.io.image import LoadedImage

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


@dataclass(frozen=True)
class Geometry:
    """How model-input pixels relate to source pixels.

    source x = crop_box[0] + (model x - pad_left) / scale (same for y).
    Coordinates are continuous pixel coordinates (0 is the left edge).
    """

    source_size: tuple[int, int]  # (height, width) of LoadedImage.pixels
    crop_box: tuple[int, int, int, int]  # (x0, y0, x1, y1) in source pixels, x1/y1 exclusive
    scale: float  # model pixels per source pixel
    pad: tuple[int, int]  # (left, top) in model pixels
    output_size: int

    def to_source(self, x: float, y: float) -> tuple[float, float]:
        return (
            self.crop_box[0] + (x - self.pad[0]) / self.scale,
            self.crop_box[1] + (y - self.pad[1]) / self.scale,
        )

    def to_model(self, x: float, y: float) -> tuple[float, float]:
        return (
            (x - self.crop_box[0]) * self.scale + self.pad[0],
            (y - self.crop_box[1]) * self.scale + self.pad[1],
        )

    @property
    def content_box(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of the image content inside the model input (no padding)."""
        w = round((self.crop_box[2] - self.crop_box[0]) * self.scale)
        h = round((self.crop_box[3] - self.crop_box[1]) * self.scale)
        return (self.pad[0], self.pad[1], self.pad[0] + w, self.pad[1] + h)

    def map_to_source(self, heatmap: np.ndarray) -> np.ndarray:
        """Resample a (S x S or smaller) map over the model input onto the full source image."""
        size = self.output_size
        if heatmap.shape != (size, size):
            heatmap = cv2.resize(heatmap.astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)
        x0, y0, x1, y1 = self.content_box
        content = heatmap[y0:y1, x0:x1]
        out = np.zeros(self.source_size, dtype=np.float32)
        _resize_into(np.ascontiguousarray(content, dtype=np.float32), out, self.crop_box)
        return out

    def mask_to_source(self, mask: np.ndarray) -> np.ndarray:
        """A boolean mask on the model grid -> a boolean mask on the source image.

        The same bilinear resampling as map_to_source, thresholded at one half, but
        through uint8: a source-sized float map would be 4 bytes a pixel, 1 GiB on a
        16384-px film, where this result is one.
        """
        size = self.output_size
        grid = np.where(mask, np.uint8(255), np.uint8(0))
        if grid.shape != (size, size):
            grid = cv2.resize(grid, (size, size), interpolation=cv2.INTER_LINEAR)
        x0, y0, x1, y1 = self.content_box
        out = np.zeros(self.source_size, dtype=np.uint8)
        _resize_into(np.ascontiguousarray(grid[y0:y1, x0:x1]), out, self.crop_box)
        cv2.threshold(out, 127, 1, cv2.THRESH_BINARY, dst=out)  # in place: 0/1 bytes
        return out.view(bool)

    def map_from_source(self, source: np.ndarray, nearest: bool = False) -> np.ndarray:
        """The inverse of map_to_source: a source-sized array onto the model input grid (padding 0).

        Training uses it to carry a mask through exactly the crop/resize/letterbox its image took.
        """
        if source.shape[:2] != self.source_size:
            raise ValueError(f"expected an array of shape {self.source_size}, got {source.shape[:2]}")
        x0, y0, x1, y1 = self.content_box
        cx0, cy0, cx1, cy1 = self.crop_box
        interp = cv2.INTER_NEAREST if nearest else (cv2.INTER_AREA if self.scale < 1 else cv2.INTER_LINEAR)
        resized = cv2.resize(source[cy0:cy1, cx0:cx1], (x1 - x0, y1 - y0), interpolation=interp)
        out = np.zeros((self.output_size, self.output_size), dtype=source.dtype)
        out[y0:y1, x0:x1] = resized
        return out


def _resize_into(content: np.ndarray, out: np.ndarray, box: tuple[int, int, int, int]) -> None:
    """Bilinear-resize ``content`` straight into ``out``'s ``box`` (x0, y0, x1, y1): no full-size temporary."""
    x0, y0, x1, y1 = box
    target = out[y0:y1, x0:x1]
    written = cv2.resize(content, (x1 - x0, y1 - y0), dst=target, interpolation=cv2.INTER_LINEAR)
    if not np.shares_memory(written, target):  # OpenCV would not write into the view: copy once
        target[...] = written


@dataclass(frozen=True)
class Preprocessed:
    array: np.ndarray  # float32 (1, S, S) in [0, 1]
    geometry: Geometry


def preprocess(image: LoadedImage, config: PreprocessConfig,
               lung_box: tuple[int, int, int, int] | None = None) -> Preprocessed:
    """``lung_box`` (x0, y0, x1, y1 on the image grid) is used when ``config.lung_crop`` is set;
    without one (no lungs found) the crop falls back to the film's content box."""
    windowed = model_grey(image)  # default window, bone bright: fixed, the models were trained on it
    box = find_content_box(windowed) if config.crop_border else (0, 0, image.width, image.height)
    if config.lung_crop and lung_box is not None:
        box = expand_box(lung_box, config.lung_margin, (image.height, image.width))
    x0, y0, x1, y1 = box
    cropped = windowed[y0:y1, x0:x1]
    size = config.input_size
    scale = size / max(cropped.shape)
    new_w = max(1, min(size, round(cropped.shape[1] * scale)))
    new_h = max(1, min(size, round(cropped.shape[0] * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(cropped, (new_w, new_h), interpolation=interp)
    normalised = normalise_intensity(resized, config)
    canvas = np.zeros((size, size), dtype=np.uint8)
    left, top = (size - new_w) // 2, (size - new_h) // 2
    canvas[top : top + new_h, left : left + new_w] = normalised
    geometry = Geometry(
        source_size=(image.height, image.width),
        crop_box=(x0, y0, x1, y1),
        scale=scale,
        pad=(left, top),
        output_size=size,
    )
    array = (canvas.astype(np.float32) / np.float32(255.0))[None]
    return Preprocessed(array=array, geometry=geometry)


def expand_box(box: tuple[int, int, int, int], margin: float, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """``box`` grown by ``margin`` of its width/height on each side, clipped to the image."""
    x0, y0, x1, y1 = box
    dx, dy = round((x1 - x0) * margin), round((y1 - y0) * margin)
    height, width = shape
    return (max(0, x0 - dx), max(0, y0 - dy), min(width, x1 + dx), min(height, y1 + dy))


def normalise_intensity(image: np.ndarray, config: PreprocessConfig) -> np.ndarray:
    """uint8 in, uint8 out."""
    if config.intensity == "equalize":
        return cv2.equalizeHist(image)
    if config.intensity == "clahe":
        tiles = (config.clahe_tiles, config.clahe_tiles)
        return cv2.createCLAHE(clipLimit=config.clahe_clip, tileGridSize=tiles).apply(image)
    if config.intensity == "percentile":
        low, high = np.percentile(image, (config.percentile_low, config.percentile_high))
        span = max(float(high - low), 1.0)
        return np.clip((image.astype(np.float32) - low) * (255.0 / span), 0, 255).astype(np.uint8)
    return image


def find_content_box(windowed: np.ndarray, min_fraction: float = 0.5) -> tuple[int, int, int, int]:
    """Drop uniform border rows/columns (collimator edges, burnt-in frames, letterbox bars).

    A line is border if it barely varies. The crop never removes more than
    half of either dimension, so an odd image falls back to no crop.
    """
    h, w = windowed.shape
    row_std, col_std = _line_stds(windowed)
    rows = _content_span(row_std)
    cols = _content_span(col_std)
    y0, y1 = rows if rows[1] - rows[0] >= min_fraction * h else (0, h)
    x0, x1 = cols if cols[1] - cols[0] >= min_fraction * w else (0, w)
    return (x0, y0, x1, y1)


def _line_stds(windowed: np.ndarray, band_rows: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Standard deviation of every row and every column of a uint8 image, a band of rows at a time.

    Exact integer sums and sums of squares instead of a float copy of the whole film
    (1 GiB for a 16384-px one); the same values as ``std`` to float rounding.
    """
    h, w = windowed.shape
    row_sum, row_sq = np.empty(h, dtype=np.int64), np.empty(h, dtype=np.int64)
    col_sum, col_sq = np.zeros(w, dtype=np.int64), np.zeros(w, dtype=np.int64)
    for start in range(0, h, band_rows):
        band = windowed[start:start + band_rows]
        squares = np.square(band, dtype=np.int32)
        row_sum[start:start + band_rows] = band.sum(axis=1, dtype=np.int64)
        row_sq[start:start + band_rows] = squares.sum(axis=1, dtype=np.int64)
        col_sum += band.sum(axis=0, dtype=np.int64)
        col_sq += squares.sum(axis=0, dtype=np.int64)
    return _std(row_sum, row_sq, w), _std(col_sum, col_sq, h)


def _std(sums: np.ndarray, squares: np.ndarray, n: int) -> np.ndarray:
    mean = sums / n
    return np.sqrt(np.maximum(squares / n - np.square(mean), 0.0))


def _content_span(line_std: np.ndarray, threshold: float = 4.0) -> tuple[int, int]:
    busy = np.flatnonzero(line_std > threshold)
    if busy.size == 0:
        return (0, line_std.size)
    return (int(busy[0]), int(busy[-1]) + 1)
