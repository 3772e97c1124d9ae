"""Multi-frame DICOM: one frame decoded on request, uncompressed and RLE, in and out of the sandbox."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cxrviewer.io import load_image
from cxrviewer.io.errors import ImageLoadError
from cxrviewer.io.sandbox import DecoderPool
from tests.multiframe_files import write_multiframe

CHEST_DX = "chest_dx_mono2_uncompressed.dcm"


@pytest.fixture(params=[False, True], ids=["uncompressed", "rle"])
def multiframe(request, dicom_dir: Path, tmp_path: Path) -> tuple[Path, np.ndarray]:
    target = tmp_path / f"three_frames_{'rle' if request.param else 'native'}.dcm"
    return target, write_multiframe(dicom_dir / CHEST_DX, target, rle=request.param)


def test_each_frame_decodes_to_its_own_pixels(multiframe) -> None:
    path, frames = multiframe
    for index in range(3):
        image = load_image(path, index)
        assert (image.frames, image.frame_index) == (3, index)
        np.testing.assert_array_equal(image.pixels, frames[index].astype(np.float32))


def test_a_frame_past_the_end_is_a_clear_error(multiframe) -> None:
    path, _ = multiframe
    with pytest.raises(ImageLoadError, match="has no frame 4 .it holds 3"):
        load_image(path, 3)


def test_only_the_asked_frame_reaches_the_rle_decoder(dicom_dir: Path, tmp_path: Path, monkeypatch) -> None:
    import cxrviewer.io.dicom_codecs as codecs

    path = tmp_path / "rle.dcm"
    write_multiframe(dicom_dir / CHEST_DX, path, rle=True)
    seen = []
    real = codecs.pixel_array
    monkeypatch.setattr(codecs, "pixel_array", lambda ds, index, **kw: seen.append(index) or real(ds, index=index, **kw))
    assert load_image(path, 2).pixels.shape == (256, 256)
    assert seen == [2]


@pytest.mark.slow
def test_the_sandbox_hands_back_the_frame_asked_for(multiframe) -> None:
    path, frames = multiframe
    pool = DecoderPool(processes=1)
    try:
        for index in (2, 0, 1):
            image = pool.load(path, index)
            assert image.frame_index == index
            np.testing.assert_array_equal(image.pixels, frames[index].astype(np.float32))
        with pytest.raises(ImageLoadError, match="has no frame"):
            pool.load(path, 5)
    finally:
        pool.close()


def test_single_frame_files_report_frame_one_of_one(dicom_dir: Path) -> None:
    image = load_image(dicom_dir / "hip_cr_rle.dcm")
    assert (image.frames, image.frame_index) == (1, 0)


def test_patient_orientation_of_the_real_cr_chest(dicom_dir: Path) -> None:
    image = load_image(dicom_dir / "chest_cr_mono1_j2k_lossy.dcm")  # PatientOrientation L\F
    assert image.patient_axes == ((1.0, 0.0, 0.0), (0.0, 0.0, -1.0))


def test_image_orientation_patient_wins_over_the_letters(dicom_dir: Path, tmp_path: Path) -> None:
    import pydicom

    ds = pydicom.dcmread(dicom_dir / CHEST_DX)
    ds.PatientOrientation = ["L", "F"]
    ds.ImageOrientationPatient = [0, 1, 0, 0, 0, -1]  # a lateral: rows run posteriorly
    ds.save_as(tmp_path / "lateral.dcm")
    assert load_image(tmp_path / "lateral.dcm").patient_axes == ((0.0, 1.0, 0.0), (0.0, 0.0, -1.0))


def test_no_orientation_no_axes(dicom_dir: Path) -> None:
    assert load_image(dicom_dir / CHEST_DX).patient_axes is None
