"""PNG and JPEG files made in tmp_path: bit depths, colour modes, EXIF orientation."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cxrviewer.io import TruncatedImageError, load_image


def _save(image: Image.Image, path: Path, **kwargs) -> Path:
    image.save(path, **kwargs)
    return path


def test_8bit_gray_png_keeps_values_and_shows_them_as_stored(tmp_path):
    values = np.arange(256, dtype=np.uint8).reshape(16, 16)
    image = load_image(_save(Image.fromarray(values), tmp_path / "g.png"))
    np.testing.assert_array_equal(image.pixels, values)
    assert (image.kind, image.bits, image.photometric) == ("png", 8, "L")
    assert (image.window.low, image.window.high) == (0, 255)


def test_16bit_png_keeps_full_precision(tmp_path):
    values = (np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 7 + 300).astype(np.uint16)
    path = _save(Image.fromarray(values), tmp_path / "deep.png")
    image = load_image(path)
    np.testing.assert_array_equal(image.pixels, values)
    assert image.bits == 16
    assert values.min() <= image.window.low < image.window.high <= values.max()


def test_rgba_png_is_luma_over_black(tmp_path):
    rgba = np.zeros((1, 3, 4), dtype=np.uint8)
    rgba[0, 0] = (200, 200, 200, 255)  # opaque grey
    rgba[0, 1] = (200, 200, 200, 0)  # fully transparent
    rgba[0, 2] = (0, 255, 0, 255)  # opaque green
    image = load_image(_save(Image.fromarray(rgba, "RGBA"), tmp_path / "a.png"))
    np.testing.assert_allclose(image.pixels[0], [200, 0, 0.587 * 255], atol=0.01)
    assert image.photometric == "RGBA"


def test_palette_png_shows_palette_colours_as_grey(tmp_path):
    palette_image = Image.new("P", (2, 1))
    palette_image.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    palette_image.putpixel((0, 0), 1)
    palette_image.putpixel((1, 0), 0)
    image = load_image(_save(palette_image, tmp_path / "p.png"))
    np.testing.assert_allclose(image.pixels, [[255, 0]], atol=0.01)
    assert image.photometric == "P"


def test_rgb_jpeg_is_grayscale(tmp_path):
    rgb = np.zeros((16, 16, 3), dtype=np.uint8)
    rgb[:, 8:] = 255
    image = load_image(_save(Image.fromarray(rgb), tmp_path / "c.jpg", quality=95))
    assert image.pixels.ndim == 2 and image.kind == "jpeg"
    assert image.pixels[:, :6].mean() < 10 and image.pixels[:, 10:].mean() > 245


def test_jpeg_exif_orientation_is_honoured(tmp_path):
    """Stored landscape with a bright top-left block; EXIF 6 means 'rotate 90 degrees
    clockwise to view', so the viewer must show portrait with the block top-right."""
    stored = np.zeros((40, 60), dtype=np.uint8)
    stored[:10, :10] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    path = _save(Image.fromarray(stored), tmp_path / "rot.jpg", exif=exif, quality=95)
    image = load_image(path)
    assert (image.height, image.width) == (60, 40)
    assert image.pixels[:10, -10:].mean() > 200 and image.pixels[:10, :10].mean() < 50
    assert image.metadata["EXIF orientation"] == "6"


def test_png_metadata_has_basic_properties(tmp_path):
    path = _save(Image.fromarray(np.zeros((5, 7), np.uint8)), tmp_path / "m.png", dpi=(300, 300))
    meta = load_image(path).metadata
    assert meta["Format"] == "PNG" and meta["Width"] == "7" and meta["Height"] == "5"
    assert meta["DPI"].startswith("300")


def _encoded(fmt: str) -> bytes:
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 255, (128, 128), dtype=np.uint8)  # incompressible: data runs long
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt,suffix", [("PNG", ".png"), ("JPEG", ".jpg")])
@pytest.mark.parametrize("keep", [0.3, 0.7, 0.95])
def test_truncated_png_and_jpeg_are_reported_as_truncated(tmp_path, fmt, suffix, keep):
    data = _encoded(fmt)
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(TruncatedImageError, match=f"cut{suffix}: {fmt} file is cut short"):
        load_image(path)


def test_demo_png_and_jpeg_load(samples_dir):
    for path in sorted(samples_dir.glob("*.png")) + sorted(samples_dir.glob("*.jpg")):
        image = load_image(path)
        with Image.open(path) as original:
            assert (image.width, image.height) == original.size
        assert image.pixels.std() > 5
