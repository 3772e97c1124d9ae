"""DICOM variants built with pydicom, each checking one rule of the loader."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.pixels import apply_voi_lut
from pydicom.uid import MPEG2MPML, BasicTextSRStorage

from cxrviewer.imaging.windowing import render
from cxrviewer.io import (
    ImageTooLargeError,
    NoPixelDataError,
    TruncatedImageError,
    UnsupportedCodecError,
    Window,
    load_image,
)

from .conftest import build_dataset  # noqa: TID252 - shared builder beside the fixtures

RAMP12 = np.array([[0, 100, 1000], [2000, 3000, 4095]], dtype=np.uint16)


RAMP = (np.arange(64 * 64, dtype=np.uint16) % 4096).reshape(64, 64)  # every 12-bit value in steps


def _pydicom_display(path, bits: int = 12) -> np.ndarray:
    """pydicom's VOI (window with its function, or the VOI LUT) scaled to 0..255: the reference."""
    ds = pydicom.dcmread(path)
    voi = apply_voi_lut(ds.pixel_array, ds)
    out_max = 2 ** int(ds.VOILUTSequence[0].LUTDescriptor[2]) - 1 if "VOILUTSequence" in ds else 2**bits - 1
    return voi * 255.0 / out_max


def test_monochrome1_keeps_its_values_and_is_inverted_after_the_window(make_dicom):
    path = make_dicom(RAMP12, PhotometricInterpretation="MONOCHROME1", BitsStored=12, HighBit=11,
                      WindowCenter=1000, WindowWidth=2000)
    image = load_image(path)
    np.testing.assert_array_equal(image.pixels, RAMP12)  # the readout shows stored values
    assert (image.window.center, image.window.width, image.window.function) == (1000, 2000, "LINEAR")
    shown = render(image)
    assert np.abs(shown - (255 - _pydicom_display(path))).max() <= 0.5 + 1e-6
    assert (np.diff(shown.ravel().astype(int)) <= 0).all(), "higher stored value must be darker"
    assert shown[0, 0] == 255 and shown[1, 2] == 0  # stored 0 is white in MONOCHROME1
    assert image.photometric == "MONOCHROME1" and image.bits == 12 and image.display_inverted


def test_monochrome2_with_inverse_presentation_lut_is_inverted(make_dicom):
    plain = load_image(make_dicom(RAMP12, name="a.dcm"))
    inverse = load_image(make_dicom(RAMP12, name="b.dcm", PresentationLUTShape="INVERSE"))
    np.testing.assert_array_equal(plain.pixels, inverse.pixels)
    assert inverse.display_inverted and not plain.display_inverted
    np.testing.assert_array_equal(render(inverse), 255 - render(plain))


@pytest.mark.parametrize("function", ["LINEAR", "LINEAR_EXACT", "SIGMOID"])
def test_voi_lut_function_is_applied_as_pydicom_does(make_dicom, function):
    path = make_dicom(RAMP, BitsStored=12, HighBit=11, WindowCenter=1500, WindowWidth=1200,
                      VOILUTFunction=function)
    image = load_image(path)
    assert image.window.function == function
    assert np.abs(render(image) - _pydicom_display(path)).max() <= 0.5 + 1e-3


def test_sigmoid_is_not_a_straight_line(make_dicom):
    linear = render(load_image(make_dicom(RAMP, name="l.dcm", BitsStored=12, HighBit=11,
                                          WindowCenter=1500, WindowWidth=1200)))
    sigmoid = render(load_image(make_dicom(RAMP, name="s.dcm", BitsStored=12, HighBit=11,
                                           WindowCenter=1500, WindowWidth=1200, VOILUTFunction="SIGMOID")))
    at_edge = RAMP == 900  # the linear window's black edge; the sigmoid is at 12 % there
    assert linear[at_edge].max() <= 1 and 25 <= sigmoid[at_edge].min() <= 35


def _gamma_voi_lut(first: int = 500, count: int = 3000, bits: int = 12) -> Dataset:
    item = Dataset()
    item.LUTDescriptor = [count, first, bits]
    curve = np.round((np.linspace(0, 1, count) ** 0.5) * (2**bits - 1))  # a curve, not a line
    item.LUTData = curve.astype("<u2").tobytes()
    item["LUTData"].VR = "OW"
    item.LUTExplanation = "GAMMA"
    return item


def test_non_linear_voi_lut_is_applied_entry_by_entry(make_dicom):
    path = make_dicom(RAMP, BitsStored=12, HighBit=11, VOILUTSequence=[_gamma_voi_lut()])
    image = load_image(path)
    (window,) = image.presets
    assert window.name == "GAMMA" and window.lut is not None
    shown = render(image)
    assert np.abs(shown - _pydicom_display(path)).max() <= 0.5 + 1e-6
    # the LUT's square root lifts the middle: a straight line over 500..3499 would give 128
    assert shown[RAMP == 2000].min() >= 175


def test_rescale_slope_intercept_gives_modality_units(make_dicom):
    path = make_dicom(RAMP12, RescaleSlope=2, RescaleIntercept=-1024, BitsStored=12, HighBit=11)
    np.testing.assert_array_equal(load_image(path).pixels, RAMP12 * 2.0 - 1024)


def test_signed_pixels_keep_their_sign(make_dicom):
    values = np.array([[-2048, -1, 0], [1, 1000, 2047]], dtype=np.int16)
    image = load_image(make_dicom(values, BitsStored=12, HighBit=11))
    np.testing.assert_array_equal(image.pixels, values)


def test_signed_values_in_fewer_bits_than_allocated_are_sign_extended(make_dicom):
    """12-bit two's complement stored in 16 bits with garbage above bit 11."""
    values = np.array([[-5, 7]], dtype=np.int16)
    stored = (values.astype(np.uint16) & 0x0FFF) | 0xF000 * (values >= 0)  # junk high bits
    image = load_image(make_dicom(stored.astype(np.int16), BitsStored=12, HighBit=11))
    np.testing.assert_array_equal(image.pixels, values)


def test_multiframe_shows_first_frame_and_counts_frames(make_dicom):
    frames = np.stack([np.full((4, 5), v, dtype=np.uint16) for v in (10, 20, 30)])
    frames[0, 0, 0] = 99
    image = load_image(make_dicom(frames))
    assert image.frames == 3
    assert image.pixels.shape == (4, 5)
    assert image.pixels[0, 0] == 99 and image.pixels[1, 1] == 10


def test_several_windows_become_named_presets(make_dicom):
    path = make_dicom(RAMP12, WindowCenter=[500, 2000], WindowWidth=[1000, 4000],
                      WindowCenterWidthExplanation=["SOFT", "WIDE"])
    image = load_image(path)
    assert image.presets == (Window("SOFT", 500, 1000, "LINEAR"), Window("WIDE", 2000, 4000, "LINEAR"))
    assert image.window == image.presets[0]


def test_unnamed_windows_get_numbered_names_and_bad_widths_are_dropped(make_dicom):
    path = make_dicom(RAMP12, WindowCenter=[500, 600, 2000], WindowWidth=[1000, 0, 4000])
    names = [w.name for w in load_image(path).presets]
    assert names == ["File window 1", "File window 3"]


def test_voi_lut_sequence_becomes_a_window_over_its_input_range(make_dicom):
    item = Dataset()
    item.LUTDescriptor = [1024, 1000, 8]  # 1024 entries from stored value 1000
    ramp = np.clip(np.arange(1024) - 200, 0, 255)  # rises over inputs 1200..1455
    item.LUTData = np.minimum(ramp, 255).astype("<u2").tobytes()
    item["LUTData"].VR = "OW"
    item.LUTExplanation = "HARD"
    image = load_image(make_dicom(RAMP12, VOILUTSequence=[item]))
    (window,) = image.presets
    assert window.name == "HARD"
    assert 1195 <= window.low <= 1205 and 1450 <= window.high <= 1460


def test_missing_window_gives_percentile_default_not_min_max(make_dicom):
    pixels = np.full((64, 64), 300, dtype=np.uint16)
    pixels[::2] = np.arange(64, dtype=np.uint16) * 4 + 1000
    pixels[0, 0], pixels[0, 1] = 0, 4095  # a dead and a hot pixel
    image = load_image(make_dicom(pixels))
    assert image.window.low > 0 and image.window.high < 4095
    assert image.window.low <= 300 and image.window.high >= 1200


def test_rgb_dicom_is_shown_as_luma(make_dicom):
    rgb = np.zeros((2, 3, 3), dtype=np.uint8)
    rgb[0, 0] = (255, 0, 0)
    rgb[0, 1] = (0, 255, 0)
    rgb[0, 2] = (0, 0, 255)
    rgb[1, :] = (200, 200, 200)
    path = make_dicom(None, Rows=2, Columns=3, SamplesPerPixel=3, PhotometricInterpretation="RGB",
                      PlanarConfiguration=0, BitsAllocated=8, BitsStored=8, HighBit=7,
                      PixelRepresentation=0, PixelData=rgb.tobytes())
    image = load_image(path)
    np.testing.assert_allclose(image.pixels[0], [0.299 * 255, 0.587 * 255, 0.114 * 255], atol=0.01)
    np.testing.assert_allclose(image.pixels[1], 200, atol=0.01)
    assert image.photometric == "RGB"
    assert (image.window.low, image.window.high) == (0, 255)  # 8-bit colour: as stored


@pytest.mark.parametrize("name", ["examples_ybr_color.dcm", "examples_palette.dcm"])
def test_colour_dicoms_from_pydicom_become_grayscale(name):
    image = load_image(get_testdata_file(name))
    assert image.pixels.ndim == 2 and image.pixels.std() > 1
    assert image.photometric in ("YBR_FULL_422", "PALETTE COLOR")


def test_file_without_preamble_and_file_meta_is_recognised_by_content(tmp_path):
    ds = build_dataset(RAMP12, BitsStored=12, HighBit=11)
    del ds.file_meta
    path = tmp_path / "no_extension"
    ds.save_as(path, implicit_vr=True, little_endian=True, enforce_file_format=False)
    assert path.read_bytes()[128:132] != b"DICM"
    image = load_image(path)
    assert image.kind == "dicom"
    np.testing.assert_array_equal(image.pixels, RAMP12)


def test_dicom_without_pixel_data_says_so(make_dicom):
    path = make_dicom(None, name="report.dcm", SOPClassUID=BasicTextSRStorage, Modality="SR")
    with pytest.raises(NoPixelDataError, match="report.dcm: DICOM file has no pixel data .*SR"):
        load_image(path)


def test_image_header_cut_before_the_pixels_is_truncated_not_pixelless(make_dicom, tmp_path):
    data = make_dicom(RAMP12).read_bytes()
    cut = tmp_path / "cut_header.dcm"
    cut.write_bytes(data[: data.index(b"\xe0\x7f\x10\x00")])  # up to the Pixel Data tag
    with pytest.raises(TruncatedImageError, match="cut_header.dcm: DICOM file ends before its pixel data"):
        load_image(cut)


def test_short_pixel_data_is_reported_truncated(make_dicom, tmp_path):
    path = make_dicom(np.arange(64 * 64, dtype=np.uint16).reshape(64, 64))
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(path.read_bytes()[:-3000])
    with pytest.raises(TruncatedImageError, match="cut short"):
        load_image(cut)


def test_oversize_header_is_refused_before_decoding(make_dicom):
    """Rows x Columns say 40000 x 30000 but only a few bytes follow: the size check
    must fire first (decoding would report truncation or allocate gigabytes)."""
    path = make_dicom(None, Rows=40000, Columns=30000, SamplesPerPixel=1, BitsAllocated=16,
                      BitsStored=16, HighBit=15, PixelRepresentation=0,
                      PhotometricInterpretation="MONOCHROME2", PixelData=b"\0" * 64)
    with pytest.raises(ImageTooLargeError, match="30000 x 40000"):
        load_image(path)


def test_jpeg_12bit_names_the_missing_gplv3_plugin():
    with pytest.raises(UnsupportedCodecError, match="pylibjpeg-libjpeg.*GPLv3"):
        load_image(get_testdata_file("JPGExtended.dcm"))


def test_video_transfer_syntax_is_an_unsupported_codec(make_dicom):
    path = make_dicom(None, name="mpeg.dcm", Rows=2, Columns=3, SamplesPerPixel=1,
                      BitsAllocated=8, BitsStored=8, HighBit=7, PixelRepresentation=0,
                      PhotometricInterpretation="MONOCHROME2",
                      PixelData=encapsulate([b"\x00\x00\x01\xb3 not really video"]))
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = MPEG2MPML
    ds["PixelData"].VR = "OB"
    ds.save_as(path, enforce_file_format=True)
    with pytest.raises(UnsupportedCodecError, match="mpeg.dcm: .*MPEG2"):
        load_image(path)


def test_bits_above_bits_stored_are_ignored(make_dicom):
    """Old modalities put overlays in the unused high bits; they are not pixel values."""
    values = np.array([[5, 4095]], dtype=np.uint16)
    image = load_image(make_dicom(values | 0x8000, BitsStored=12, HighBit=11))
    np.testing.assert_array_equal(image.pixels, values)


def test_fractional_rescale_slope(make_dicom):
    image = load_image(make_dicom(RAMP12, RescaleSlope="0.5", RescaleIntercept="-10.25"))
    np.testing.assert_allclose(image.pixels, RAMP12 * 0.5 - 10.25)


@pytest.mark.parametrize("variant", ["MR_small_bigendian.dcm", "MR_small_implicit.dcm",
                                     "MR_small_RLE.dcm", "MR_small_jp2klossless.dcm",
                                     "MR_small_jpeg_ls_lossless.dcm"])
def test_signed_16bit_image_identical_across_encodings(variant):
    """pydicom ships one signed 16-bit MR slice in several byte orders and codecs."""
    reference = load_image(get_testdata_file("MR_small.dcm"))
    np.testing.assert_array_equal(load_image(get_testdata_file(variant)).pixels, reference.pixels)
