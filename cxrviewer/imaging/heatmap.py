"""The one heat-map renderer: colours, transparency and blending (no Qt, no torch).

The canvas (as a lookup table on its overlay layer), the view export and the
`cxr predict` PNGs all draw a class-activation map through this module, so a map
looks the same on screen, in an exported view and in a batch PNG.

Colours: 'turbo', whose blue-to-red order readers know from heat maps. The weak end
is fully transparent so regions the model did not use stay plain grey, and
transparency fades in gradually so there is no hard contour that could be read as
a lesion border.

Strength: a CAM is normalised to its own maximum, so a class the model gives 1 %
would be drawn as hot as one it gives 99 %. The map is therefore multiplied by the
probability of the class it explains before it is coloured: a class at 1 % leaves
no hot spot at all, and a map is only fully red where the model is both sure and
looking there.
"""

from __future__ import annotations

import cv2
import numpy as np

from cxrviewer.io.image import LoadedImage, Window

from .windowing import apply_window, shown_inverted

TRANSPARENT_BELOW = 0.25  # displayed values under this are not drawn at all
OPAQUE_FROM = 0.75  # from here the colour is drawn at full (slider) opacity
DEFAULT_OPACITY = 0.5  # the image underneath stays readable through the hottest colour
LEGEND_TEXT = ("Colour = where the model looked for the class shown, scaled by that class's probability "
               "(a class at 1 % leaves no colour). Blue/transparent: little; red: most.")


def heat_lut() -> np.ndarray:
    """(256, 4) uint8 RGBA lookup table: turbo colours, alpha rising from the weak end."""
    bgr = cv2.applyColorMap(np.arange(256, dtype=np.uint8)[:, None], cv2.COLORMAP_TURBO)[:, 0, :]
    values = np.linspace(0.0, 1.0, 256)
    ramp = np.clip((values - TRANSPARENT_BELOW) / (OPAQUE_FROM - TRANSPARENT_BELOW), 0.0, 1.0)
    lut = np.empty((256, 4), dtype=np.uint8)
    lut[:, :3] = bgr[:, ::-1]
    lut[:, 3] = np.round(255 * ramp).astype(np.uint8)
    return lut


# Rows per step when a whole image is coloured: the float temporaries of one band are a
# few tens of MB even for a 16384-px-wide film, so colouring never multiplies the image.
BAND_ROWS = 512
STREAM_BAND_ROWS = 128  # a streamed band is also filtered for PNG, which takes several int16 copies


def cam_to_u8(cam: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """LUT indices of ``cam`` ([0, 1]) times ``strength`` (the explained class's probability)."""
    cam = np.asarray(cam)
    out = np.empty(cam.shape, dtype=np.uint8)
    factor = np.float32(min(max(float(strength), 0.0), 1.0) * 255.0)
    for rows in _bands(cam.shape):
        scaled = cam[rows].astype(np.float32) * factor
        out[rows] = np.clip(scaled + 0.5, 0, 255).astype(np.uint8)
    return out


def compose_rgb(image: LoadedImage, window: Window, inverted: bool, cam_u8: np.ndarray | None = None,
                lut: np.ndarray | None = None, opacity: float = 0.0) -> np.ndarray:
    """(H, W, 3) uint8 in the image's own orientation: windowed grey, heat map over it.

    ``inverted`` is the reader's invert toggle; a MONOCHROME1 film is inverted on top of
    it (``shown_inverted``), so the export shows what the screen shows.

    The blend is what Qt does when it draws the overlay layer (LUT alpha times layer opacity).
    Worked out band by band: the result is the only full-size array it allocates.
    """
    pixels = image.pixels
    out = np.empty(pixels.shape[:2] + (3,), dtype=np.uint8)
    blend = cam_u8 is not None and opacity > 0
    lut = heat_lut() if blend and lut is None else lut
    invert = shown_inverted(image, inverted)
    for rows in _bands(pixels.shape):
        out[rows] = _compose_band(pixels[rows], window, invert, cam_u8[rows] if blend else None, lut, opacity)
    return out


def _compose_band(pixels: np.ndarray, window: Window, inverted: bool, cam_u8: np.ndarray | None,
                  lut: np.ndarray | None, opacity: float) -> np.ndarray:
    grey = apply_window(pixels, window, invert=inverted).astype(np.float32)
    rgb = np.repeat(grey[..., None], 3, axis=2)
    if cam_u8 is not None and opacity > 0:
        rgba = lut[cam_u8].astype(np.float32)
        alpha = rgba[..., 3:4] / 255.0 * float(opacity)
        rgb = rgb * (1.0 - alpha) + rgba[..., :3] * alpha
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)


def _bands(shape: tuple[int, ...], rows: int = BAND_ROWS):
    for start in range(0, shape[0], rows):
        yield slice(start, min(start + rows, shape[0]))


def render_overlay(image: LoadedImage, cam: np.ndarray, strength: float = 1.0,
                   opacity: float = DEFAULT_OPACITY) -> np.ndarray:
    """RGB uint8 (H, W, 3): the image in its default window with the map over it, as the viewer shows it."""
    return np.concatenate(list(overlay_bands(image, cam, strength, opacity)), axis=0)


def overlay_bands(image: LoadedImage, cam: np.ndarray, strength: float = 1.0, opacity: float = DEFAULT_OPACITY,
                  rows: int = STREAM_BAND_ROWS):
    """render_overlay's RGB rows, a band at a time (top to bottom), for writers that stream:
    the overlay of a large film never has to exist whole."""
    if cam.shape != image.pixels.shape:
        raise ValueError(f"CAM shape {cam.shape} does not match the image {image.pixels.shape}")
    lut = heat_lut()
    invert = shown_inverted(image)  # a MONOCHROME1 film as it is read: bone white
    for band in _bands(cam.shape, rows):
        yield _compose_band(image.pixels[band], image.window, invert, cam_to_u8(cam[band], strength), lut, opacity)


def legend_strip(width: int = 256, height: int = 12) -> np.ndarray:
    """RGBA uint8 (height, width, 4): the LUT as a horizontal colour bar (weak left, strong right)."""
    lut = heat_lut()
    index = np.linspace(0, 255, width).round().astype(np.uint8)
    return np.ascontiguousarray(np.repeat(lut[index][None], height, axis=0))
