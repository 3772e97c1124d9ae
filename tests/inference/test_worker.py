"""InferenceWorker end to end: a real QThread, a real (random) model, real chest images."""

from __future__ import annotations

import shutil

import pytest

from cxrviewer.inference.requests import BatchProgress, InferenceError, InferenceResult, ModelInfo, ModelLoadFailure
from cxrviewer.inference.worker import InferenceWorker
from cxrviewer.inference.work_queue import MAX_UNDELIVERED

SIGNAL_TIMEOUT_MS = 60_000  # generous: the CPU is shared with training jobs


@pytest.fixture
def worker(qtbot, random_model_dir):
    worker = InferenceWorker(random_model_dir, device="auto")
    with qtbot.waitSignal(worker.model_loaded, timeout=SIGNAL_TIMEOUT_MS) as loaded:
        worker.start()
    assert isinstance(loaded.args[0], ModelInfo)
    yield worker
    worker.close()


def _collect(worker: InferenceWorker) -> dict[str, list]:
    seen: dict[str, list] = {"result": [], "error": [], "progress": []}
    worker.result.connect(seen["result"].append)
    worker.error.connect(seen["error"].append)
    worker.batch_progress.connect(seen["progress"].append)
    return seen


def test_model_loads_in_the_background_and_reports_its_device(worker):
    info = worker.model_info
    assert info.device == "cpu" and info.device_name.startswith("CPU")  # no GPU on this machine
    assert info.labels == ("normal", "pneumonia", "covid")


def test_request_gives_a_result_with_its_id(qtbot, worker, chest_dicom):
    with qtbot.waitSignal(worker.result, timeout=SIGNAL_TIMEOUT_MS) as blocker:
        request_id = worker.submit(chest_dicom, cam=True, cam_method="gradcam++")
    result = blocker.args[0]
    assert isinstance(result, InferenceResult)
    assert result.request_id == request_id and result.path == chest_dicom.path
    assert result.cam.shape == chest_dicom.pixels.shape and result.cam_method == "gradcam++"
    assert set(result.probabilities) == set(worker.model_info.labels)


def test_a_newer_request_makes_the_older_one_stale(qtbot, worker, chest_dicom, chest_image):
    with qtbot.waitSignal(worker.request_started, timeout=SIGNAL_TIMEOUT_MS):
        first = worker.submit(chest_dicom)
    seen = _collect(worker)  # a first result delivered before this point was not stale yet
    with qtbot.waitSignal(worker.result, timeout=SIGNAL_TIMEOUT_MS):
        second = worker.submit(chest_image)
    # Results are delivered in order, so a stale first result would have arrived already.
    assert [r.request_id for r in seen["result"]] == [second]
    assert first not in [r.request_id for r in seen["result"]] and not seen["error"]


def test_failures_become_error_signals_and_the_worker_goes_on(qtbot, worker, corrupt_file, chest_image):
    with qtbot.waitSignal(worker.error, timeout=SIGNAL_TIMEOUT_MS) as failed:
        bad_file = worker.submit(corrupt_file)
    error = failed.args[0]
    assert isinstance(error, InferenceError) and error.request_id == bad_file
    assert error.path == corrupt_file and "truncated.png" in error.message

    with qtbot.waitSignal(worker.error, timeout=SIGNAL_TIMEOUT_MS) as failed:
        bad_class = worker.submit(chest_image, target="fracture")
    assert failed.args[0].request_id == bad_class and "unknown class 'fracture'" in failed.args[0].message

    with qtbot.waitSignal(worker.result, timeout=SIGNAL_TIMEOUT_MS) as served:
        good = worker.submit(chest_image)
    assert served.args[0].request_id == good and worker.is_running()


def test_an_unknown_cam_method_is_refused_at_once(worker, chest_image):
    with pytest.raises(ValueError, match="unknown CAM method 'scorecam'"):
        worker.submit(chest_image, cam_method="scorecam")


def test_a_tampered_model_is_refused_and_the_old_one_kept(qtbot, worker, tmp_path, random_model_dir, chest_image):
    tampered = tmp_path / "tampered"
    shutil.copytree(random_model_dir, tampered)
    config = tampered / "model.json"
    config.write_text(config.read_text().replace('"normal"', '"healthy"'))  # labels edited, hash unchanged
    (tampered / "model.safetensors").write_bytes(b"\0" * 64)
    with qtbot.waitSignal(worker.model_failed, timeout=SIGNAL_TIMEOUT_MS) as refused:
        worker.load_model(tampered)
    failure = refused.args[0]
    assert isinstance(failure, ModelLoadFailure) and failure.model_dir == tampered
    assert "sha256" in failure.message and failure.current.model_dir == random_model_dir
    with qtbot.waitSignal(worker.result, timeout=SIGNAL_TIMEOUT_MS) as served:
        worker.submit(chest_image, cam=False)
    assert set(served.args[0].probabilities) == {"normal", "pneumonia", "covid"}


def test_an_incompatible_model_is_refused(qtbot, worker, tmp_path, random_model_dir):
    newer = tmp_path / "newer"
    shutil.copytree(random_model_dir, newer)
    config = newer / "model.json"
    config.write_text(config.read_text().replace('"format_version": 1', '"format_version": 99'))
    with qtbot.waitSignal(worker.model_failed, timeout=SIGNAL_TIMEOUT_MS) as refused:
        worker.load_model(newer)
    assert "format version 99" in refused.args[0].message
    assert worker.model_info.model_dir == random_model_dir


def test_switching_to_another_model(qtbot, worker, two_label_model_dir, chest_image):
    with qtbot.waitSignal(worker.model_loaded, timeout=SIGNAL_TIMEOUT_MS):
        worker.load_model(two_label_model_dir)
    with qtbot.waitSignal(worker.result, timeout=SIGNAL_TIMEOUT_MS) as served:
        worker.submit(chest_image, target="opacity")
    assert set(served.args[0].probabilities) == {"clear", "opacity"} and served.args[0].cam_label == "opacity"


def test_batch_reports_progress_and_results(qtbot, worker, cxr3_paths, corrupt_file):
    seen = _collect(worker)
    paths = [*cxr3_paths[:4], corrupt_file]
    with qtbot.waitSignal(worker.batch_finished, timeout=SIGNAL_TIMEOUT_MS) as finished:
        batch_id = worker.submit_batch(paths)
    final = finished.args[0]
    assert final == BatchProgress(batch_id, done=5, failed=1, total=5, finished=True, cancelled=False)
    assert [p.done for p in seen["progress"]] == [1, 2, 3, 4, 5]
    assert [r.path for r in seen["result"]] == cxr3_paths[:4]
    assert all(r.batch_id == batch_id and r.cam is None for r in seen["result"])
    assert [e.path for e in seen["error"]] == [corrupt_file]


def test_batch_can_be_cancelled(qtbot, worker, cxr3_paths):
    seen = _collect(worker)
    with qtbot.waitSignal(worker.batch_progress, timeout=SIGNAL_TIMEOUT_MS):
        batch_id = worker.submit_batch(cxr3_paths)
    with qtbot.waitSignal(worker.batch_finished, timeout=SIGNAL_TIMEOUT_MS) as finished:
        worker.cancel_batch(batch_id)
        delivered_at_cancel = len(seen["result"])
    final = finished.args[0]
    assert final.cancelled and final.batch_id == batch_id
    # Back-pressure keeps the worker at most MAX_UNDELIVERED images ahead of the UI.
    assert final.done <= delivered_at_cancel + MAX_UNDELIVERED < final.total == len(cxr3_paths)
    assert len(seen["result"]) == delivered_at_cancel  # nothing of a cancelled batch is delivered


def test_interactive_requests_overtake_a_running_batch(qtbot, worker, cxr3_paths, chest_image):
    seen = _collect(worker)
    order: list[str] = []
    worker.result.connect(lambda r: order.append("batch" if r.batch_id else "interactive"))
    with qtbot.waitSignal(worker.batch_progress, timeout=SIGNAL_TIMEOUT_MS):
        worker.submit_batch(cxr3_paths)
    with qtbot.waitSignal(worker.batch_finished, timeout=SIGNAL_TIMEOUT_MS):
        worker.submit(chest_image)
        delivered_at_submit = len(order)
    # It waits at most for the running image and the results the UI has not taken yet.
    assert order.index("interactive") <= delivered_at_submit + MAX_UNDELIVERED + 1
    assert order.count("batch") == len(cxr3_paths) and not seen["error"]


def test_close_during_a_batch_stops_the_thread(qtbot, random_model_dir, cxr3_paths):
    worker = InferenceWorker(random_model_dir)
    with qtbot.waitSignal(worker.batch_progress, timeout=SIGNAL_TIMEOUT_MS):
        worker.start()
        worker.submit_batch(cxr3_paths, cam=True)
    assert worker.close() is True
    assert not worker.is_running()
    assert worker.close() is True  # twice is fine
    with pytest.raises(RuntimeError, match="closed"):
        worker.submit(cxr3_paths[0])


def test_close_before_the_model_has_loaded(qtbot, random_model_dir, chest_image):
    worker = InferenceWorker(random_model_dir)
    worker.start()
    worker.submit(chest_image)
    assert worker.close() is True and not worker.is_running()


def test_missing_model_fails_requests_with_a_message(qtbot, tmp_path, chest_image):
    worker = InferenceWorker(tmp_path / "no-such-model")
    try:
        with qtbot.waitSignal(worker.model_failed, timeout=SIGNAL_TIMEOUT_MS) as refused:
            worker.start()
        assert refused.args[0].current is None and "not found" in refused.args[0].message
        with qtbot.waitSignal(worker.error, timeout=SIGNAL_TIMEOUT_MS) as failed:
            request_id = worker.submit(chest_image)
        assert failed.args[0].request_id == request_id and "No AI model is loaded" in failed.args[0].message
    finally:
        worker.close()


def test_torch_arrives_only_with_the_worker_thread(random_model_dir):
    """The window imports and builds the worker before torch is imported; the thread brings it."""
    import subprocess
    import sys

    code = f"""
import sys
from PySide6.QtCore import QCoreApplication, QTimer
from cxrviewer.inference.worker import InferenceWorker
app = QCoreApplication([])
worker = InferenceWorker({str(random_model_dir)!r})
assert "torch" not in sys.modules, "torch imported before start()"
worker.model_loaded.connect(lambda info: app.quit())
worker.model_failed.connect(lambda failure: app.exit(3))
worker.start()
QTimer.singleShot({SIGNAL_TIMEOUT_MS}, lambda: app.exit(4))
code = app.exec()
worker.close()
assert "torch" in sys.modules
sys.exit(code)
"""
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
