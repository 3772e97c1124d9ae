"""What a display window is: centre/width, the VOI function that maps through them, or a VOI LUT.

Plain data (no Qt); the maths that applies a window lives in ``voi`` and ``windowing``.
Every window is on the file's own value scale (stored values through the Modality
LUT), whatever the photometric interpretation: a MONOCHROME1 image keeps its numbers
and is inverted by the display lookup table, not by changing its values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# DICOM VOI LUT Function (0028,1056). LINEAR_EXACT is also what cxrviewer's own windows
# (automatic, standard presets, a right-drag) use: an exact straight line from low to
# high that works for any width, where DICOM's LINEAR needs a width of at least 1 (a
# float image spanning 0..1 would otherwise have no usable window).
LINEAR = "LINEAR"
LINEAR_EXACT = "LINEAR_EXACT"
SIGMOID = "SIGMOID"
FUNCTIONS = (LINEAR, LINEAR_EXACT, SIGMOID)


@dataclass(frozen=True, eq=False)
class VoiLut:
    """A VOI LUT from the file: ``entries[i]`` is the output for input ``first + i``.

    Inputs below ``first`` take the first entry, above the last the last entry (PS3.3
    C.11.2.1.1, pydicom's ``apply_voi``). ``bits`` is the entries' nominal depth, so the
    display maps 0..2**bits-1 to black..white. Compared by identity: two LUT windows are
    the same preset only when they are the same object.
    """

    first: int
    entries: np.ndarray  # float64, 1-D, at least one entry
    bits: int

    @property
    def out_max(self) -> float:
        # Some files put 12-bit values in a LUT declared 16-bit or the reverse: never
        # let an entry land above white.
        return max(float(2**self.bits - 1), float(self.entries.max()), 1.0)


@dataclass(frozen=True)
class Window:
    """A display window on the image's value scale (``LoadedImage.pixels``).

    ``center``/``width`` are the DICOM Window Center/Width; ``function`` says how values
    between them become grey levels. A window from a VOI LUT carries the LUT (``lut``),
    which then decides every grey level; its centre/width are the straight line over the
    LUT's rise, which the W/L readout shows and a right-drag starts from.
    """

    name: str
    center: float
    width: float
    function: str = LINEAR_EXACT
    lut: VoiLut | None = None

    @property
    def low(self) -> float:
        return self.center - self.width / 2.0

    @property
    def high(self) -> float:
        return self.center + self.width / 2.0

    @property
    def kind(self) -> str:
        """'VOI LUT', or the VOI function ('LINEAR', 'LINEAR_EXACT', 'SIGMOID')."""
        return "VOI LUT" if self.lut is not None else self.function
