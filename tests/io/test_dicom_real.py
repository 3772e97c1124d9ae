"""The loader on the real DICOM files in ../shared/data/dicom."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.pixels import apply_modality_lut, apply_voi_lut

from cxrviewer.imaging.windowing import render, standard_presets
from cxrviewer.io import LoadedImage

# From ../shared/data/README.md (rows x columns, bits stored, photometric).
DOCUMENTED = {
    "chest_cr_mono1_j2k_lossy.dcm": (1955, 1841, 15, "MONOCHROME1"),
    "chest_dx_mono2_uncompressed.dcm": (1024, 1024, 8, "MONOCHROME2"),
    "hip_cr_j2k_lossless.dcm": (2140, 1760, 10, "MONOCHROME2"),
    "hip_cr_jpegls_lossless.dcm": (2140, 1760, 10, "MONOCHROME2"),
    "hip_cr_jpeg_lossless.dcm": (2140, 1760, 10, "MONOCHROME2"),
    "hip_cr_rle.dcm": (2140, 1760, 10, "MONOCHROME2"),
}
HIP_CODECS = [name for name in DOCUMENTED if name.startswith("hip_")]
CHEST_CR = "chest_cr_mono1_j2k_lossy.dcm"
DENTAL = "dental_cr_mono1_jpeg_lossless_modality_lut.dcm"


def _header(path: Path) -> pydicom.Dataset:
    return pydicom.dcmread(path, stop_before_pixels=True)


def test_every_shared_file_matches_its_header(dicom_files, shared_images):
    for path in dicom_files:
        image, ds = shared_images[path.name], _header(path)
        assert image.kind == "dicom"
        assert (image.height, image.width) == (ds.Rows, ds.Columns), path.name
        assert image.bits == ds.BitsStored
        assert image.photometric == ds.PhotometricInterpretation
        assert image.frames == 1
        assert image.pixels.dtype == np.float32 and np.isfinite(image.pixels).all()
        assert image.pixels.std() > 1, f"{path.name} decoded to a flat image"


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_documented_size_bits_photometric(name, shared_images):
    rows, cols, bits, photometric = DOCUMENTED[name]
    image = shared_images[name]
    assert (image.height, image.width, image.bits, image.photometric) == (rows, cols, bits, photometric)


def test_study_fields_from_the_chest_header(shared_images):
    image = shared_images[CHEST_CR]
    assert (image.modality, image.body_part, image.view_position) == ("CR", "CHEST", "PA")


def test_hip_codecs_decode_to_identical_pixels(shared_images):
    reference = shared_images[HIP_CODECS[0]].pixels
    for name in HIP_CODECS[1:]:
        np.testing.assert_array_equal(shared_images[name].pixels, reference, err_msg=name)


def _region_mean(display: np.ndarray, rows: tuple[float, float], cols: tuple[float, float]) -> float:
    h, w = display.shape
    return float(display[int(rows[0] * h) : int(rows[1] * h), int(cols[0] * w) : int(cols[1] * w)].mean())


@pytest.mark.parametrize("name", [CHEST_CR, "chest_dx_mono2_uncompressed.dcm"])
def test_chest_lungs_display_darker_than_mediastinum_and_diaphragm(name, shared_images):
    """On a correctly displayed chest film air is dark and soft tissue bright; an
    uninverted MONOCHROME1 image shows the opposite."""
    image = shared_images[name]
    display = render(image)
    lungs = [_region_mean(display, (0.25, 0.5), cols) for cols in ((0.2, 0.32), (0.68, 0.8))]
    mediastinum = _region_mean(display, (0.3, 0.6), (0.46, 0.54))
    below_diaphragm = _region_mean(display, (0.85, 0.95), (0.2, 0.8))
    for lung in lungs:
        assert lung + 30 < mediastinum, (lungs, mediastinum)
        assert lung + 30 < below_diaphragm, (lungs, below_diaphragm)


def test_monochrome1_values_are_the_files_own_modality_values(dicom_dir, shared_images):
    """No mirroring: every pixel is pydicom's Modality LUT output, so the readout shows the
    stored value (8030 where the file holds 8030, not 32767 - 8030)."""
    for name in (CHEST_CR, DENTAL):
        ds = pydicom.dcmread(dicom_dir / name)
        expected = apply_modality_lut(ds.pixel_array, ds)
        image = shared_images[name]
        assert image.display_inverted, name
        np.testing.assert_array_equal(image.pixels, expected.astype(np.float32), err_msg=name)


def test_monochrome1_display_is_the_file_window_then_inverted(dicom_dir, shared_images):
    """What the screen shows is pydicom's VOI (the header's LINEAR window) inverted
    afterwards, as the standard orders, to the rounding of 0..32767 into 0..255."""
    ds = pydicom.dcmread(dicom_dir / CHEST_CR)
    voi = apply_voi_lut(apply_modality_lut(ds.pixel_array, ds), ds)
    expected = 255 - voi * 255 / (2**ds.BitsStored - 1)
    shown = render(shared_images[CHEST_CR])
    assert np.abs(shown - expected).max() <= 0.5 + 1e-6


def test_file_window_is_the_default_and_a_preset(dicom_files, shared_images):
    """The header's Window Center/Width as written, MONOCHROME1 included (L 15000, not 17767)."""
    seen = 0
    for path in dicom_files:
        ds, image = _header(path), shared_images[path.name]
        if "WindowCenter" not in ds:
            continue
        seen += 1
        assert image.presets[0] == image.window
        assert (image.window.center, image.window.width) == (float(ds.WindowCenter), float(ds.WindowWidth))
        assert image.window.function == "LINEAR"
    assert seen >= 2


def test_file_without_window_gets_a_robust_default(shared_images):
    image: LoadedImage = shared_images["chest_dx_mono2_uncompressed.dcm"]
    lo, hi = image.value_range
    assert image.window.low > lo or image.window.high < hi, "default must not be raw min/max"
    inside = (image.pixels >= image.window.low) & (image.pixels <= image.window.high)
    assert inside.mean() > 0.9
    assert [w.name for w in standard_presets(image)][0] == "Default"


def test_dental_modality_lut_sequence_is_applied(dicom_dir, shared_images):
    """The file's Modality LUT is a curve; loaded values must be its output (not mirrored,
    though the file is MONOCHROME1), not the identity that its rescale 1/0 would give."""
    ds = pydicom.dcmread(dicom_dir / DENTAL)
    lut = np.frombuffer(ds.ModalityLUTSequence[0].LUTData, dtype="<u2").astype(np.float32)
    raw = ds.pixel_array
    assert ds.ModalityLUTSequence[0].LUTDescriptor[1] == 0  # the LUT starts at stored value 0
    pixels = shared_images[DENTAL].pixels
    np.testing.assert_array_equal(pixels, lut[raw])
    assert np.ptp(pixels - raw) > 10, "the LUT was ignored (identity would pass)"


def test_dental_panoramic_teeth_brighter_than_background(shared_images):
    """MONOCHROME1 shown inverted: the black frame around the panoramic film stays dark."""
    image = shared_images[DENTAL]
    display = render(image)
    top_band = _region_mean(display, (0.0, 0.3), (0.1, 0.9))  # unexposed area above the jaw
    jaw = _region_mean(display, (0.55, 0.85), (0.3, 0.7))
    assert top_band + 50 < jaw


def test_presets_on_a_monochrome1_film_follow_brightness(shared_images):
    """Lung is the darker part of the film as shown: on MONOCHROME1 the higher values."""
    image = shared_images[CHEST_CR]
    default, lung, mediastinum, bone, full = standard_presets(image)
    assert default.center == 15000 and default.width == 30000
    assert lung.center > mediastinum.center > bone.center
    low, high = image.value_range
    assert low <= full.low < full.high <= high  # of a strided sample


def test_metadata_lists_header_elements_but_not_pixels(dicom_dir, shared_images):
    image = shared_images[CHEST_CR]
    ds = _header(dicom_dir / CHEST_CR)
    assert image.metadata["(0028,0010) Rows"] == str(ds.Rows)
    assert image.metadata["(0008,0060) Modality"] == "CR"
    assert image.metadata["(0002,0010) TransferSyntaxUID"].startswith(str(ds.file_meta.TransferSyntaxUID))
    assert not any(key.startswith("(7FE0,0010)") for key in image.metadata)
    assert len(image.metadata) >= len([e for e in ds if e.tag.group != 0x7FE0])


def test_modality_lut_sequence_summarised_in_metadata(shared_images):
    meta = shared_images[DENTAL].metadata
    assert meta["(0028,3000) ModalityLUTSequence"] == "<sequence of 1 item>"
