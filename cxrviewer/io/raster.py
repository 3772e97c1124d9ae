"""Load PNG and JPEG files into a LoadedImage, shown as grayscale."""

from __future__ import annotations

import logging
import struct
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from cxrviewer.imaging.autowindow import auto_window, full_range_window

from .errors import CorruptImageError, ImageTooLargeError, TruncatedImageError, UnsupportedCodecError
from .image import LoadedImage
from .limits import check_size
from .quiet import quiet_warnings
from .raster_header import header_size

log = logging.getLogger(__name__)

_PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG"}
_EXIF_ORIENTATION = 0x0112


def load_raster(path: Path, kind: str) -> LoadedImage:
    """A PNG or JPEG file (kind says which) as a LoadedImage."""
    size = header_size(path, kind)
    if size is not None:
        check_size(path, width=size[0], height=size[1])
    with _open(path, kind) as im:
        check_size(path, width=im.width, height=im.height)
        bits = _bits_per_sample(im, kind)
        try:
            # PNG keeps EXIF and frame data after the image data: read them inside.
            im.load()
            metadata = _properties(im, kind, bits)
            pixels = _to_gray(ImageOps.exif_transpose(im))
            frames = int(getattr(im, "n_frames", 1) or 1)
        except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
            raise _damaged(path, kind, exc) from exc
        mode = im.mode
    window = _default_window(pixels, bits)
    return LoadedImage(
        path=path,
        kind=kind,
        pixels=pixels,
        window=window,
        presets=(window,),
        photometric=mode,
        bits=bits,
        frames=frames,
        metadata=metadata,
    )


def _open(path: Path, kind: str) -> Image.Image:
    try:
        with quiet_warnings():  # size was checked against our own limit already
            return Image.open(path, formats=[_PIL_FORMATS[kind]])
    except Image.DecompressionBombError as exc:
        limit = 2 * (Image.MAX_IMAGE_PIXELS or 0)
        raise ImageTooLargeError(
            f"{path.name}: image has too many pixels to decode safely "
            f"(PNG/JPEG limit {limit / 1e6:.0f} megapixels)"
        ) from exc
    except UnidentifiedImageError as exc:
        raise CorruptImageError(f"{path.name}: {kind.upper()} header is damaged") from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise _damaged(path, kind, exc) from exc


def _damaged(path: Path, kind: str, exc: Exception) -> Exception:
    text = str(exc).lower()
    cut = ("truncated", "ended prematurely", "buffer of at least", "unexpected end")
    if any(word in text for word in cut) or isinstance(exc, (EOFError, struct.error)):
        return TruncatedImageError(f"{path.name}: {kind.upper()} file is cut short (truncated)")
    if "12-bit" in text or "unsupported" in text or "not supported" in text:
        return UnsupportedCodecError(f"{path.name}: this {kind.upper()} variant is not supported ({exc})")
    return CorruptImageError(f"{path.name}: {kind.upper()} image data is damaged ({exc})")


def _bits_per_sample(im: Image.Image, kind: str) -> int:
    if kind == "jpeg":
        return int(getattr(im, "bits", 8) or 8)
    depth = _png_bit_depth(im)
    if depth:
        return depth
    return 16 if im.mode.startswith("I") else 8


def _png_bit_depth(im: Image.Image) -> int:
    """Bit depth from the IHDR chunk (Pillow's mode hides 1/2/4/16-bit colour depths)."""
    fp = getattr(im, "fp", None)
    if fp is None:
        return 0
    try:
        position = fp.tell()
        fp.seek(24)
        depth = fp.read(1)
        fp.seek(position)
    except (OSError, ValueError):
        return 0
    return depth[0] if depth else 0


def _to_gray(im: Image.Image) -> np.ndarray:
    """2-D float32: luma for colour, alpha composited onto black."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F", "L"):
        return np.asarray(im, dtype=np.float32)
    if mode == "1":
        return np.asarray(im.convert("L"), dtype=np.float32)
    has_alpha = mode in ("LA", "La", "PA", "RGBA", "RGBa") or "transparency" in im.info
    target = "RGBA" if has_alpha else "RGB"
    color = im if im.mode == target else im.convert(target)
    # Pillow's "F" conversion is the same BT.601 luma, computed in C. A float32 copy of
    # every channel first took 16 bytes a pixel and, for a 164-megapixel colour image,
    # longer than the decoder's 30 s time-out (found by benchmarks/fuzz_loader.py).
    gray = np.asarray(color.convert("F"))
    if has_alpha:  # transparent areas show as background (black)
        return gray * (np.asarray(color.getchannel("A")) * np.float32(1 / 255))
    return gray.copy()  # Pillow's buffer is read-only


def _default_window(pixels: np.ndarray, bits: int):
    """8-bit files are already display-ready: show them as stored. Deeper files usually
    use part of their range (12-bit data in 16-bit PNG): a robust automatic window."""
    if bits <= 8:
        return full_range_window(0.0, 255.0, name="Full range")
    return auto_window(pixels)


def _properties(im: Image.Image, kind: str, bits: int) -> dict[str, str]:
    props = {
        "Format": kind.upper(),
        "Width": str(im.width),
        "Height": str(im.height),
        "Mode": im.mode,
        "Bits per sample": str(bits),
    }
    orientation = im.getexif().get(_EXIF_ORIENTATION)
    if orientation:
        props["EXIF orientation"] = str(orientation)
    dpi = im.info.get("dpi")
    if dpi:
        props["DPI"] = " x ".join(f"{round(float(d), 1):g}" for d in dpi)
    if "icc_profile" in im.info:
        props["ICC profile"] = "embedded"
    if kind == "jpeg" and im.info.get("progressive"):
        props["Progressive"] = "yes"
    return props
