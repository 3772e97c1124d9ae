"""Display windows a DICOM file carries: Window Center/Width pairs and VOI LUTs.

All windows are in Modality LUT output units, the units of LoadedImage.pixels, for
MONOCHROME1 files too (they are inverted after the window, on screen). Reading only:
what a window does to a value is cxrviewer.imaging.voi.
"""

from __future__ import annotations

import logging

import numpy as np
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from cxrviewer.imaging.voi import lut_span
from cxrviewer.imaging.window import FUNCTIONS, LINEAR, VoiLut, Window

log = logging.getLogger(__name__)


def file_windows(ds: Dataset) -> list[Window]:
    """Windows stored in the file, in file order: Window Center/Width first, then VOI LUTs.

    DICOM gives VOI LUTs precedence over Window Center/Width only when both are
    present in a Presentation State; in an image either may be the default, and
    most viewers start from Window Center/Width.
    """
    return _center_width_windows(ds) + _voi_lut_windows(ds)


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
    function = _voi_function(ds)
    windows = []
    # Files with more centers than widths exist; pair what pairs.
    for i, (center, width) in enumerate(zip(centers, widths, strict=False)):
        if not (np.isfinite(center) and np.isfinite(width)) or width <= 0:
            continue
        name = names[i] if i < len(names) and names[i] else _default_name(i, len(centers))
        windows.append(Window(name, center, width, function))
    return windows


def _voi_function(ds: Dataset) -> str:
    """VOI LUT Function (0028,1056); absent means LINEAR. An unknown one is shown LINEAR
    rather than not at all (pydicom refuses it)."""
    value = str(ds.get("VOILUTFunction", "") or "").strip().upper()
    if value and value not in FUNCTIONS:
        log.warning("unknown VOI LUT Function; windowing linearly")
    return value if value in FUNCTIONS else LINEAR


def _default_name(index: int, count: int) -> str:
    return "File window" if count == 1 else f"File window {index + 1}"


def _voi_lut_windows(ds: Dataset) -> list[Window]:
    """Each VOI LUT as a window that carries the LUT (the display uses its entries) and,
    for the W/L readout, the straight window over the LUT's rise."""
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
    bits = int(item.LUTDescriptor[2]) if len(item.LUTDescriptor) > 2 else 16
    lut = VoiLut(first, _lut_entries(ds, item.LUTData, count), bits if 8 <= bits <= 16 else 16)
    span = lut_span(lut) if lut.entries.size else None
    if span is None:
        return None
    low, high = span
    name = str(item.get("LUTExplanation", "") or "").strip() or f"VOI LUT {index + 1}"
    return Window(name, (low + high) / 2, max(high - low, 1.0), lut=lut)


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
