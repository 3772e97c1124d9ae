"""MONOCHROME1 films keep their file values, yet the models see exactly what they saw before.

Until the loader stopped mirroring, a MONOCHROME1 image reached the models as its
Modality LUT output mirrored about the middle of that LUT's range (the file's window
mirrored with it; without a window, the automatic one of the mirrored values). The
reference here rebuilds that input from pydicom alone and holds the bundled classifier's
probabilities on it; the image as now loaded must give the very same model input and
probabilities.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.pixels import apply_modality_lut

from cxrviewer.imaging.autowindow import auto_window
from cxrviewer.io import LoadedImage, Window, load_image
from cxrviewer.model.predictor import Predictor
from cxrviewer.model.preprocess import preprocess
from cxrviewer.resources import bundled_model_dir

MONOCHROME1_FILES = ("chest_cr_mono1_j2k_lossy.dcm", "dental_cr_mono1_jpeg_lossless_modality_lut.dcm")


@pytest.fixture(scope="module")
def bundled(one_torch_thread_module) -> Predictor:
    return Predictor.from_dir(bundled_model_dir(), device="cpu")


@pytest.fixture(scope="module")
def one_torch_thread_module():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _modality_range(ds: pydicom.Dataset) -> tuple[float, float]:
    """The range the old loader mirrored about: the Modality LUT's output range, else the
    values BitsStored allows (these files are unsigned and not rescaled)."""
    if "ModalityLUTSequence" in ds:
        item = ds.ModalityLUTSequence[0]
        entries = np.frombuffer(item.LUTData, dtype="<u2")[: item.LUTDescriptor[0]]
        return float(entries.min()), float(entries.max())
    assert int(ds.get("PixelRepresentation", 0)) == 0 and "RescaleSlope" not in ds
    return 0.0, float(2**ds.BitsStored - 1)


def _old_model_view(path: Path, like: LoadedImage) -> LoadedImage:
    """The image as the loader used to hand it over: mirrored values, mirrored window."""
    ds = pydicom.dcmread(path)
    low, high = _modality_range(ds)
    mirrored = (np.float32(low + high) - apply_modality_lut(ds.pixel_array, ds).astype(np.float32))
    if "WindowCenter" in ds:
        window = Window("File window", low + high - float(ds.WindowCenter), float(ds.WindowWidth))
    else:
        window = auto_window(mirrored)
    return LoadedImage(path=path, kind="dicom", pixels=mirrored, window=window, presets=(window,),
                       photometric=like.photometric, bits=like.bits)


@pytest.mark.parametrize("name", MONOCHROME1_FILES)
def test_monochrome1_model_input_and_probabilities_are_unchanged(name, dicom_dir, bundled):
    path = dicom_dir / name
    image = load_image(path)
    assert image.display_inverted  # shown inverted, values as the file has them
    old = _old_model_view(path, image)
    config = bundled.config.preprocessing
    np.testing.assert_array_equal(preprocess(image, config).array, preprocess(old, config).array)
    (now,), (before,) = bundled.predict([image]), bundled.predict([old])
    assert now.probabilities == before.probabilities
    assert now.ood_score == before.ood_score
