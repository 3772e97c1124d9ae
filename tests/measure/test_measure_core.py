"""Measurement maths on real files: lengths from the header's spacing, ROI statistics on the
file's own scale (pydicom's Modality LUT), the CTR, and the sidecar store."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pydicom
import pytest
from pydicom.pixels import apply_modality_lut

from cxrviewer.io.loader import load_image
from cxrviewer.measure.annotation import CTR, ELLIPSE, RECTANGLE, RULER, TEXT, Annotation
from cxrviewer.measure.calibration import IMAGER_PIXEL_SPACING, NOTE_DETECTOR, NOTE_NO_SPACING, Calibration
from cxrviewer.measure.geometry import angle_degrees, cardiothoracic_ratio, length
from cxrviewer.measure.history import History
from cxrviewer.measure.labels import label
from cxrviewer.measure.roi import roi_stats
from cxrviewer.measure.store import AnnotationStore, image_key

HIP = "hip_cr_rle.dcm"  # Pixel Spacing 0.2 mm
DENTAL = "dental_cr_mono1_jpeg_lossless_modality_lut.dcm"  # a Modality LUT sequence
CHEST_DX = "chest_dx_mono2_uncompressed.dcm"  # no spacing at all


def _calibration(path):
    image = load_image(path)
    return image, Calibration.of(image.pixel_spacing, image.spacing_source)


def test_ruler_mm_from_pixel_spacing(dicom_dir):
    image, cal = _calibration(dicom_dir / HIP)
    row_mm, col_mm = (float(v) for v in pydicom.dcmread(dicom_dir / HIP, stop_before_pixels=True).PixelSpacing)
    p0, p1 = (100.0, 200.0), (400.0, 600.0)
    expected = math.hypot(300 * col_mm, 400 * row_mm)  # 0.2 mm: 100.0 mm
    assert length(p0, p1, cal) == pytest.approx(expected)
    text = label(Annotation(RULER, (p0, p1)), cal)
    assert text == f"{expected:.1f} mm"  # Pixel Spacing needs no note


def test_imager_pixel_spacing_is_at_the_detector(dicom_dir, tmp_path):
    ds = pydicom.dcmread(dicom_dir / HIP)
    spacing = [float(v) for v in ds.PixelSpacing]
    del ds.PixelSpacing
    ds.ImagerPixelSpacing = spacing
    path = tmp_path / "imager_spacing.dcm"
    ds.save_as(path)
    image, cal = _calibration(path)
    assert cal.source == IMAGER_PIXEL_SPACING
    text = label(Annotation(RULER, ((0, 0), (0, 500))), cal)
    assert text == f"{500 * spacing[0]:.1f} mm ({NOTE_DETECTOR})"
    assert "at the detector" in text


def test_no_spacing_measures_pixels_and_says_so(dicom_dir):
    image, cal = _calibration(dicom_dir / CHEST_DX)
    assert image.pixel_spacing is None and not cal.calibrated
    assert label(Annotation(RULER, ((10, 10), (310, 410))), cal) == f"500 px ({NOTE_NO_SPACING})"


def test_angle_in_real_space():
    square = Calibration(0.2, 0.2, "PixelSpacing")
    assert angle_degrees((10, 0), (0, 0), (0, 10), square) == pytest.approx(90.0)
    assert angle_degrees((10, 0), (0, 0), (10, 10), square) == pytest.approx(45.0)
    # rows twice as far apart as columns: the pixel diagonal is steeper on the patient
    tall = Calibration(0.4, 0.2, "PixelSpacing")
    assert angle_degrees((10, 0), (0, 0), (10, 10), tall) == pytest.approx(math.degrees(math.atan2(4, 2)))


def test_cardiothoracic_ratio(dicom_dir):
    _, cal = _calibration(dicom_dir / HIP)
    points = ((100, 500), (1100, 500), (400, 700), (880, 703))  # thoracic 1000 px, cardiac 480 px
    ratio, cardiac, thoracic = cardiothoracic_ratio(points, cal)
    assert ratio == pytest.approx(0.48)
    assert (cardiac, thoracic) == pytest.approx((96.0, 200.0))
    assert label(Annotation(CTR, points), cal).splitlines() == ["CTR 0.48", "cardiac 96.0 mm / thoracic 200.0 mm"]


def _centre_mask(shape, left, top, width, height, ellipse):
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]]
    x, y = cols + 0.5, rows + 0.5
    if ellipse:
        return ((x - left - width / 2) / (width / 2)) ** 2 + ((y - top - height / 2) / (height / 2)) ** 2 <= 1
    return (x >= left) & (x <= left + width) & (y >= top) & (y <= top + height)


@pytest.mark.parametrize("name", [DENTAL, HIP])
@pytest.mark.parametrize("kind", [ELLIPSE, RECTANGLE])
def test_roi_statistics_are_numpy_on_the_modality_lut_values(dicom_dir, name, kind):
    ds = pydicom.dcmread(dicom_dir / name)
    expected_values = apply_modality_lut(ds.pixel_array, ds).astype(np.float64)
    image = load_image(dicom_dir / name)
    left, top, width, height = 300.25, 410.5, 401.0, 233.75
    stats = roi_stats(image.pixels, kind == ELLIPSE, (left, top), (left + width, top + height))
    inside = expected_values[_centre_mask(expected_values.shape, left, top, width, height, kind == ELLIPSE)]
    assert stats.count == inside.size
    assert stats.mean == pytest.approx(inside.mean())
    assert stats.sd == pytest.approx(inside.std())
    assert (stats.minimum, stats.maximum) == (inside.min(), inside.max())


def test_roi_label_has_area_in_mm2(dicom_dir):
    image, cal = _calibration(dicom_dir / HIP)
    text = label(Annotation(ELLIPSE, ((100, 100), (200, 150))), cal, image.pixels)
    area = math.pi / 4 * (100 * 0.2) * (50 * 0.2)
    assert text.splitlines()[-1] == f"area {area:.1f} mm²"
    assert text.startswith("mean ")


def test_roi_off_the_image_is_empty():
    stats = roi_stats(np.ones((10, 10), np.float32), True, (20, 20), (30, 30))
    assert stats.count == 0 and math.isnan(stats.mean)


def test_store_round_trip_names_no_uid(tmp_path, dicom_dir):
    store = AnnotationStore(tmp_path / "annotations")
    key = image_key(load_image(dicom_dir / HIP).instance_uid, dicom_dir / HIP)
    assert key.startswith("uid:")
    items = [Annotation(RULER, ((1, 2), (3, 4))), Annotation(TEXT, ((5, 6),), "effusion?")]
    store.save(key, items)
    assert store.load(key) == items
    written = store.path_for(key).read_text()
    assert key[4:] not in written and key[4:] not in store.path_for(key).name
    assert json.loads(written)["format"] == "cxrviewer-annotations"
    store.save(key, [])
    assert not store.path_for(key).exists() and store.load(key) == []


def test_key_without_uid_is_the_content_hash(tmp_path, samples_dir):
    source = next(p for p in sorted(samples_dir.iterdir()) if p.suffix == ".png")
    copy = tmp_path / "elsewhere.png"
    shutil.copy(source, copy)
    assert image_key("", source) == image_key("", copy)
    assert image_key("", source).startswith("sha256:")


def test_broken_sidecar_starts_empty(tmp_path):
    store = AnnotationStore(tmp_path)
    store.path_for("uid:1.2.3").write_text("{not json")
    assert store.load("uid:1.2.3") == []


def test_history_undoes_in_order():
    history = History()
    first = (Annotation(RULER, ((0, 0), (1, 1))),)
    history.push(())
    history.push(first)
    assert history.undo() == first and history.undo() == () and history.undo() is None


def test_drafts_build_each_kind_within_the_image():
    from cxrviewer.measure.annotation import ANGLE
    from cxrviewer.measure.drafting import Draft

    ruler = Draft(RULER, 100, 80)
    ruler.press((10, 10))
    ruler.move((50, 50))
    assert ruler.release((500, 40)) == Annotation(RULER, ((10, 10), (100, 40)))  # clamped at the edge
    ctr = Draft(CTR, 1000, 1000)
    ctr.press((100, 500))
    assert ctr.release((900, 530)) is None  # the thoracic span stays on its row
    ctr.press((300, 600))
    assert ctr.release((700, 640)).points == ((100, 500), (900, 500), (300, 600), (700, 600))
    angle = Draft(ANGLE, 100, 100)
    angle.press((0, 0))
    assert angle.release((50, 50)) is None
    assert angle.click((100, 50)).points == ((0, 0), (50, 50), (100, 50))
    still = Draft(ELLIPSE, 100, 100)
    still.press((5, 5))
    assert still.release((5, 5)) is None and not still.started
