"""Small PNG and JPEG seeds made from a shared chest X-ray, one per colour type and
coding option Pillow reads differently. Each carries a text chunk / comment holding
the planted patient name (canaries.py)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin

from . import canaries

_EXIF_ROTATE_90 = 6


def build(gray_jpeg: Path, color_jpeg: Path) -> dict[str, bytes]:
    """name -> file bytes for every derived PNG and JPEG seed."""
    gray = Image.open(gray_jpeg).convert("L").resize((64, 64))
    color = Image.open(color_jpeg).convert("RGB").resize((48, 48))
    deep = Image.fromarray((np.asarray(gray, dtype=np.uint16) * 257).astype(np.uint16))
    alpha = color.copy()
    alpha.putalpha(gray.resize((48, 48)))
    seeds = {
        "gray8.png": _png(gray),
        "gray16.png": _png(deep),
        "rgb.png": _png(color),
        "rgba.png": _png(alpha),
        "palette_trns.png": _png(color.quantize(16), transparency=0),
        "gray_alpha.png": _png(gray.convert("LA")),
        "bilevel.png": _png(gray.convert("1")),
        "interlaced.png": _png(gray, optimize=False, interlace=True),
        "exif_rotated.png": _png(gray, exif=_exif(gray)),
        "gray.jpg": _jpeg(gray),
        "gray_progressive.jpg": _jpeg(gray, progressive=True),
        "rgb_420.jpg": _jpeg(color, subsampling=2),
        "rgb_444_restart.jpg": _jpeg(color, subsampling=0, restart_marker_blocks=2),
        "cmyk.jpg": _jpeg(color.convert("CMYK")),
        "exif_rotated.jpg": _jpeg(gray, exif=_exif(gray)),
    }
    return seeds


def _png(image: Image.Image, **options) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Patient", canaries.PATIENT_NAME)
    info.add_text("PatientID", canaries.PATIENT_ID, zip=True)
    info.add_itxt("Study", canaries.STUDY_UID)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", pnginfo=info, **options)
    return buffer.getvalue()


def _jpeg(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85, comment=f"{canaries.PATIENT_NAME} {canaries.PATIENT_ID}".encode(),
               **options)
    return buffer.getvalue()


def _exif(image: Image.Image) -> bytes:
    exif = image.getexif()
    exif[0x0112] = _EXIF_ROTATE_90
    exif[0x010E] = canaries.PATIENT_NAME  # ImageDescription
    return exif.tobytes()
