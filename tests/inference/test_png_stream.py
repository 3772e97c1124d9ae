"""The streaming PNG writer: any reader decodes exactly the rows it was given."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from cxrviewer.imaging.png_stream import write_png_bands
from cxrviewer.io import load_image


def _png(rows: np.ndarray, band: int) -> bytes:
    out = io.BytesIO()
    channels = 1 if rows.ndim == 2 else rows.shape[2]
    write_png_bands(out, rows.shape[0], rows.shape[1], channels,
                    (rows[i:i + band] for i in range(0, rows.shape[0], band)))
    return out.getvalue()


@pytest.mark.parametrize("band", [1, 7, 128, 10_000])
def test_a_real_radiograph_round_trips_through_pillow_and_opencv(dicom_dir, band):
    image = load_image(dicom_dir / "chest_dx_mono2_uncompressed.dcm")
    grey = np.clip(image.pixels, 0, 255).astype(np.uint8)[:300, :257]  # odd width: rows not word-aligned
    rgb = np.dstack([grey, 255 - grey, grey // 2])
    for rows in (grey, rgb):
        data = _png(rows, band)
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(data))), rows)
        decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(decoded if rows.ndim == 2 else decoded[..., ::-1], rows)


def test_bands_that_do_not_add_up_to_the_height_are_refused():
    with pytest.raises(ValueError, match="held 4 rows"):
        write_png_bands(io.BytesIO(), 5, 3, 1, [np.zeros((4, 3), np.uint8)])


def test_paeth_compresses_a_radiograph_better_than_raw_rows(dicom_dir):
    grey = np.clip(load_image(dicom_dir / "chest_dx_mono2_uncompressed.dcm").pixels, 0, 255).astype(np.uint8)
    assert len(_png(grey, 128)) < 0.8 * grey.nbytes
