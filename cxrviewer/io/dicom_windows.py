"""Display windows a DICOM file carries: Window Center/Width pairs and VOI LUTs.

All windows are in Modality LUT output units, the units of LoadedImage.pixels. For
images shown inverted the centers are mirrored like the pixels (see dicom_pixels).
"""

from __future__ import annotations

import logging

import numpy as np
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from .image import Window

log = logging.getLogger(__name__)


def file_windows(ds: Dataset) -> list[Window]:
    """Windows stored in the file, in file order: Window Center/Width first, then VOI LUTs.

    DICOM gives VOI LUTs precedence over Window Center/Width only when both are
    present in a Presentation State; in an image either may be the default, and
    most viewers start from Window Center/Width.
    """
    return _center_width_windows(ds) + _voi_lut_windows(ds)


def mirror_window(window: Window, value_range: tuple[float, float]) -> Window:
    return Window(window.name, value_range[0] + value_range[1] - window.center, window.width)


def _as_list(value) -> list:
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple, MultiValue)):
        return list(value)
    return [value]


def _center_width_windows(ds: Dataset) -> list[Window]:
    try:
        centers = [float(c) for c in _as_list(ds.get("WindowCenter"))]
        widths = [float(w) for w in _as_list(ds.get("WindowWidth"))]
    except (TypeError, ValueError):
        log.warning("ignoring unreadable Window Center/Width values")
        return []
    names = [str(n).strip() for n in _as_list(ds.get("WindowCenterWidthExplanation"))]
    windows = []
    # Files with more centers than widths exist; pair what pairs.
    for i, (center, width) in enumerate(zip(centers, widths, strict=False)):
        if not (np.isfinite(center) and np.isfinite(width)) or width <= 0:
            continue
        name = names[i] if i < len(names) and names[i] else _default_name(i, len(centers))
        windows.append(Window(name, center, width))
    return windows


def _default_name(index: int, count: int) -> str:
    return "File window" if count == 1 else f"File window {index + 1}"


def _voi_lut_windows(ds: Dataset) -> list[Window]:
    """Each VOI LUT as the linear window that spans the same input range.

    The viewer windows linearly; a VOI LUT is usually a smooth curve over an input
    interval, so the interval where its output rises from minimum to maximum is the
    closest window.
    """
    windows = []
    for i, item in enumerate(ds.get("VOILUTSequence", None) or []):
        try:
            window = _voi_lut_as_window(ds, item, i)
        except (AttributeError, ValueError, TypeError, IndexError, KeyError):
            log.warning("ignoring unreadable VOI LUT %d", i + 1)
            continue
        if window is not None:
            windows.append(window)
    return windows


def _voi_lut_as_window(ds: Dataset, item: Dataset, index: int) -> Window | None:
    count, first = int(item.LUTDescriptor[0]) or 65536, int(item.LUTDescriptor[1])
    if first >= 2**15 and int(ds.get("PixelRepresentation", 0) or 0) == 1:
        first -= 2**16  # first mapped value is signed for signed pixel data
    out = _lut_entries(ds, item.LUTData, count)
    inputs = np.arange(first, first + out.size, dtype=np.float64)
    low_out, high_out = out.min(), out.max()
    if high_out <= low_out:
        return None
    rising = np.flatnonzero((out > low_out) & (out < high_out))
    if rising.size == 0:  # a step: the window sits on the step
        step = int(np.flatnonzero(out >= high_out)[0])
        low, high = inputs[max(step - 1, 0)], inputs[step]
    else:
        low = inputs[max(rising[0] - 1, 0)]
        high = inputs[min(rising[-1] + 1, out.size - 1)]
    name = str(item.get("LUTExplanation", "") or "").strip() or f"VOI LUT {index + 1}"
    return Window(name, float((low + high) / 2), float(max(high - low, 1.0)))


def _lut_entries(ds: Dataset, data, count: int) -> np.ndarray:
    """LUT Data as numbers: a list (US/SS) or raw bytes (OW, 16-bit words; 8-bit packed
    when the byte count equals the entry count)."""
    if not isinstance(data, (bytes, bytearray)):
        return np.asarray(list(data) if not np.isscalar(data) else [data], dtype=np.float64)
    if len(data) == count:
        return np.frombuffer(data, dtype=np.uint8).astype(np.float64)
    _implicit, little = getattr(ds, "original_encoding", (None, True))
    dtype = "<u2" if little in (None, True) else ">u2"
    return np.frombuffer(data[: len(data) // 2 * 2], dtype=dtype).astype(np.float64)[:count]
