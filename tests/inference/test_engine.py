"""InferenceEngine on real chest images: one pass gives the Predictor's numbers plus a CAM."""

from __future__ import annotations

import numpy as np
import pytest

from cxrviewer.inference.engine import InferenceEngine
from cxrviewer.inference.requests import DEFAULT_UNCERTAIN_BELOW, InferenceRequest
from cxrviewer.model.errors import ModelIntegrityError
from cxrviewer.model.predictor import Predictor


@pytest.fixture(scope="module")
def engine(random_model_dir) -> InferenceEngine:
    return InferenceEngine.load(random_model_dir, device="cpu")


def test_result_with_cam_matches_the_predictor(engine, random_model_dir, chest_dicom):
    result = engine.run(InferenceRequest(5, image=chest_dicom, cam=True, cam_method="hirescam"))
    expected = Predictor.from_dir(random_model_dir, device="cpu").predict([chest_dicom])[0]
    assert result.request_id == 5 and result.path == chest_dicom.path
    assert list(result.probabilities) == ["normal", "pneumonia", "covid"]
    for label, p in expected.probabilities.items():
        assert result.probabilities[label] == pytest.approx(p, abs=1e-5)
    assert result.label == expected.label and result.ood_flag == expected.ood_flag
    assert result.ood_score == pytest.approx(expected.ood_score, rel=1e-4)
    assert result.uncertain == (result.confidence < DEFAULT_UNCERTAIN_BELOW)
    assert result.cam.shape == chest_dicom.pixels.shape and result.cam.dtype == np.float32
    assert result.cam_method == "hirescam" and result.cam_label == result.label
    assert {"preprocess_ms", "forward_ms", "cam_ms", "total_ms"} <= set(result.timings)


def test_without_cam_no_map_is_made(engine, chest_image):
    result = engine.run(InferenceRequest(1, image=chest_image, cam=False))
    assert result.cam is None and result.cam_method is None
    assert sum(result.probabilities.values()) == pytest.approx(1.0, abs=1e-5)


def test_path_requests_are_decoded_and_timed(engine, cxr3_paths):
    result = engine.run(InferenceRequest(2, path=cxr3_paths[0], cam=True, target="covid"))
    assert result.cam_label == "covid" and result.timings["load_ms"] > 0


def test_batched_run_gives_the_same_answers_as_single_runs(engine, cxr3_paths):
    from cxrviewer.io import load_image

    images = [load_image(p) for p in cxr3_paths[:4]]
    requests = [InferenceRequest(i, image=im, cam=True) for i, im in enumerate(images)]
    batched = engine.run_many(requests, images)
    for request, image, together in zip(requests, images, batched):
        alone = engine.run(request)
        assert together.request_id == request.request_id
        assert together.probabilities["normal"] == pytest.approx(alone.probabilities["normal"], abs=1e-5)
        assert np.corrcoef(together.cam.ravel(), alone.cam.ravel())[0, 1] > 0.999


def test_cancelled_request_returns_nothing(engine, chest_image):
    assert engine.run(InferenceRequest(3, image=chest_image), cancelled=lambda: True) is None


def test_model_info_names_the_device(engine):
    info = engine.info
    assert info.device == "cpu" and info.device_name.startswith("CPU")
    assert info.labels == ("normal", "pneumonia", "covid") and info.architecture == "simple_cnn"
    assert "random weights" in info.card.lower() or "untrained" in info.card.lower()


def test_tampered_model_is_refused(tmp_path, random_model_dir):
    import shutil

    copy = tmp_path / "tampered"
    shutil.copytree(random_model_dir, copy)
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError):
        InferenceEngine.load(copy, device="cpu")


def test_lungs_are_segmented_once_per_image_whatever_the_cam_method(engine, chest_dicom, monkeypatch):
    assert engine.segmenter is not None  # the bundled lung model
    calls = []
    segment = engine.segmenter.segment
    monkeypatch.setattr(engine.segmenter, "segment", lambda image: calls.append(image) or segment(image))
    results = [engine.run(InferenceRequest(i, image=chest_dicom, cam_method=m))
               for i, m in enumerate(("gradcam", "gradcam++", "hirescam"))]
    assert len(calls) <= 1  # 0 when an earlier test already segmented this very image
    masks = [r.lungs.mask for r in results]
    assert all(np.array_equal(masks[0], m) for m in masks) and masks[0].shape == chest_dicom.pixels.shape
    for result in results:
        expected = float(result.cam[result.lungs.mask].sum() / result.cam.sum())
        assert result.lungs.cam_in_lungs == pytest.approx(expected, rel=1e-4)
