"""The AI second reader in the window: readings, wording, heat map, model states (real worker, real images)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from cxrviewer.gui import app as gui_app
from cxrviewer.gui.ai_format import OOD_WARNING, label_title, percent
from cxrviewer.inference.requests import InferenceResult
from cxrviewer.resources import bundled_model_dir

from .conftest import AI_TIMEOUT_MS, DENTAL, make_ai_window, show_and_read, wait_until_shown


def _fake_result(path: Path, probabilities: dict[str, float], *, uncertain=False, ood=False) -> InferenceResult:
    label = max(probabilities, key=probabilities.get)
    return InferenceResult(request_id=1, path=path, probabilities=probabilities, label=label,
                           confidence=probabilities[label], uncertain=uncertain, ood_score=40.0 if ood else 3.0,
                           ood_flag=ood, cam=None, cam_method=None, cam_label=None,
                           timings={"forward_ms": 12.0, "total_ms": 20.0})


# ----- readings ---------------------------------------------------------------------------------
def test_a_demo_image_gets_a_worded_reading_with_bars_and_a_heat_map(qtbot, confident_window, demo_png):
    result = show_and_read(qtbot, confident_window, demo_png)
    pane = confident_window.results_pane
    assert pane.state == "result" and not result.uncertain and not result.ood_flag
    assert pane.bars.emphasised() == result.label
    assert pane.headline.text().startswith(label_title(result.label) + " — ")
    assert [label for label, _ in pane.bars.rows()] == ["normal", "pneumonia", "covid"]
    assert sum(p for _, p in pane.bars.rows()) == pytest.approx(1.0, abs=1e-4)
    assert not pane.ood_warning.isVisible() and pane.disclaimer.isVisible()
    cam = confident_window.canvas.cam
    assert cam.map_u8.shape == confident_window.canvas.image.pixels.shape and cam.is_showing()
    assert label_title(result.label) in pane.cam_status.text()
    assert confident_window.image_list.reading_text(demo_png).startswith(label_title(result.label))


def test_status_bar_names_the_model_and_the_device(ai_window, random_model_dir):
    text = ai_window.status.model_state.text()
    assert random_model_dir.name in text and "CPU" in text
    assert "simple_cnn" in ai_window.results_pane.model_label.text()
    assert "version" in ai_window.results_pane.model_label.text()


def test_below_the_threshold_the_pane_says_uncertain_and_words_no_verdict(qtbot, ai_window):
    pane = ai_window.results_pane
    pane.show_result(_fake_result(Path("x.png"), {"normal": 0.4, "pneumonia": 0.35, "covid": 0.25},
                                  uncertain=True), uncertain_below=0.6)
    assert pane.headline.text() == "Uncertain" and percent(0.6) in pane.subline.text()
    assert "Normal —" not in pane.headline.text() + pane.subline.text()
    assert pane.bars.emphasised() is None  # no bold, coloured "winner" either


def test_out_of_distribution_shows_the_warning_instead_of_a_verdict(qtbot, ai_window):
    pane = ai_window.results_pane
    pane.show_result(_fake_result(Path("dental.dcm"), {"normal": 0.9, "pneumonia": 0.05, "covid": 0.05},
                                  ood=True), uncertain_below=0.6)
    assert pane.ood_warning.isVisible() and OOD_WARNING in pane.ood_warning.text()
    assert not pane.headline.isVisible() and "Normal" not in pane.headline.text()
    assert "not reliable" in pane.bars_caption.text()


def test_the_real_dental_film_is_flagged_by_the_random_models_detector(qtbot, ai_window, dicom_dir):
    result = show_and_read(qtbot, ai_window, dicom_dir / DENTAL)
    assert result.ood_flag
    assert ai_window.results_pane.ood_warning.isVisible()
    # The map over a film the model was not made for would read as a finding: hidden until G.
    assert not ai_window.canvas.cam.is_showing() and "hidden" in ai_window.results_pane.cam_status.text()
    qtbot.keyClick(ai_window, Qt.Key.Key_G)
    assert ai_window.canvas.cam.is_showing()
    assert "hidden" not in ai_window.results_pane.cam_status.text()
    assert "should not be trusted" in ai_window.results_pane.cam_status.text()


@pytest.mark.skipif(not (bundled_model_dir() / "model.json").is_file(),
                    reason="the bundled model (resources/models/cxr3-default) is not installed yet")
def test_the_bundled_model_warns_on_the_dental_panoramic(qtbot, settings, dicom_dir):
    window = make_ai_window(qtbot, settings, None)
    try:
        result = show_and_read(qtbot, window, dicom_dir / DENTAL)
        assert result.ood_flag and window.results_pane.ood_warning.isVisible()
        assert not window.results_pane.headline.isVisible()
    finally:
        window.close()


def test_a_worker_failure_becomes_a_message_and_the_viewer_goes_on(qtbot, ai_window, demo_png, demo_jpeg,
                                                                   monkeypatch):
    from cxrviewer.inference import engine

    def broken(self, request, cancelled=None):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(engine.InferenceEngine, "run", broken)
    with qtbot.waitSignal(ai_window.ai.worker.error, timeout=AI_TIMEOUT_MS):
        ai_window.open_paths([demo_png], remember=False)
    pane = ai_window.results_pane
    qtbot.waitUntil(lambda: pane.state == "error")
    assert "analysis failed" in pane.subline.text() and "RuntimeError" in pane.subline.text()
    assert not ai_window.canvas.cam.is_showing()
    monkeypatch.undo()
    show_and_read(qtbot, ai_window, demo_jpeg)  # still usable
    assert pane.state == "result"


# ----- heat map ------------------------------------------------------------------------------------
def test_heat_map_toggles_with_button_and_g_and_fades_with_the_slider(qtbot, confident_window, demo_png):
    show_and_read(qtbot, confident_window, demo_png)
    pane, overlay = confident_window.results_pane, confident_window.canvas.overlay
    assert overlay.isVisible()
    pane.cam_toggle.click()
    assert not overlay.isVisible()
    qtbot.keyClick(confident_window, Qt.Key.Key_G)
    assert overlay.isVisible() and pane.cam_toggle.isChecked()
    qtbot.keyClick(confident_window, Qt.Key.Key_G)
    assert not overlay.isVisible()
    qtbot.keyClick(confident_window, Qt.Key.Key_G)
    pane.opacity_slider.setValue(20)
    assert overlay.opacity() == pytest.approx(0.2)
    pane.opacity_slider.setValue(90)
    assert overlay.opacity() == pytest.approx(0.9)


def test_another_class_or_method_brings_a_new_map_for_the_same_image(qtbot, confident_window, demo_png):
    first = show_and_read(qtbot, confident_window, demo_png)
    pane = confident_window.results_pane
    other = next(label for label in ("normal", "pneumonia", "covid") if label != first.label)
    with qtbot.waitSignal(confident_window.ai.resultShown, timeout=AI_TIMEOUT_MS) as blocker:
        pane.class_picker.setCurrentIndex(pane.class_picker.findData(other))
        pane.class_picker.activated.emit(pane.class_picker.currentIndex())
    second = blocker.args[0]
    assert second.cam_label == other and second.path == demo_png
    assert not np.array_equal(second.cam, first.cam)
    assert label_title(other) in pane.cam_status.text()
    with qtbot.waitSignal(confident_window.ai.resultShown, timeout=AI_TIMEOUT_MS) as blocker:
        pane.method_picker.setCurrentIndex(pane.method_picker.findData("hirescam"))
        pane.method_picker.activated.emit(pane.method_picker.currentIndex())
    assert blocker.args[0].cam_method == "hirescam" and "HiResCAM" in pane.cam_status.text()


def test_the_map_follows_rotate_and_flip_and_sits_on_the_same_pixels(qtbot, confident_window, chest_cr):
    from PySide6.QtCore import QPointF

    show_and_read(qtbot, confident_window, chest_cr)
    canvas = confident_window.canvas
    full = canvas.cam.map_u8
    assert full.shape == canvas.image.pixels.shape == (1955, 1841)  # full resolution, not the model's 224
    row, col = np.unravel_index(np.argmax(full), full.shape)
    layer_h, layer_w = canvas.overlay.image.shape  # drawn from a reduced copy, stretched over the image
    for key in (None, Qt.Key.Key_R, Qt.Key.Key_H, Qt.Key.Key_R, Qt.Key.Key_V):
        if key is not None:
            qtbot.keyClick(confident_window, key)
        on_image = canvas.base.mapToScene(QPointF(col + 0.5, row + 0.5))
        on_map = canvas.overlay.mapToScene(QPointF((col + 0.5) * layer_w / 1841, (row + 0.5) * layer_h / 1955))
        assert abs(on_image.x() - on_map.x()) < 1e-6 and abs(on_image.y() - on_map.y()) < 1e-6
        image_rect = canvas.base.mapRectToScene(canvas.base.boundingRect())
        map_rect = canvas.overlay.mapRectToScene(canvas.overlay.boundingRect())
        assert map_rect.toRect() == image_rect.toRect()  # the map covers exactly the image


# ----- model states -----------------------------------------------------------------------------------
def test_without_a_model_the_viewer_says_so_and_still_shows_images(qtbot, settings, tmp_path, chest_dx):
    window = make_ai_window(qtbot, settings, tmp_path / "not-installed")
    try:
        assert window.results_pane.state == "no_model"
        assert "No AI model installed" in window.results_pane.headline.text()
        assert "no model installed" in window.status.model_state.text()
        assert not window.results_pane.cam_box.isVisible()  # no heat-map controls that cannot work
        window.open_paths([chest_dx], remember=False)
        wait_until_shown(qtbot, window, chest_dx)
        assert window.results_pane.state == "no_model"
    finally:
        window.close()


def test_a_tampered_model_is_refused_and_the_current_one_stays(qtbot, ai_window, random_model_dir, tmp_path,
                                                               demo_png):
    tampered = tmp_path / "tampered"
    shutil.copytree(random_model_dir, tampered)
    weights = tampered / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # one flipped byte: the sha256 in model.json no longer matches
    weights.write_bytes(bytes(data))
    with qtbot.waitSignal(ai_window.ai.worker.model_failed, timeout=AI_TIMEOUT_MS):
        ai_window.ai.load_model(tampered)
    pane = ai_window.results_pane
    assert pane.model_notice.isVisible() and "tampered" in pane.model_notice.text()
    assert ai_window.ai.model_info.model_dir == random_model_dir
    assert random_model_dir.name in ai_window.status.model_state.text()
    show_and_read(qtbot, ai_window, demo_png)  # the old model still reads


def test_loading_another_model_re_reads_the_image_with_its_labels(qtbot, ai_window, tmp_path, demo_png):
    from cxrviewer.model.export import create_random_model_dir

    show_and_read(qtbot, ai_window, demo_png)
    other = create_random_model_dir(tmp_path / "two", labels=("clear", "opacity"), seed=1)
    with qtbot.waitSignal(ai_window.ai.resultShown, timeout=AI_TIMEOUT_MS) as blocker:
        ai_window.ai.load_model(other)
    assert set(blocker.args[0].probabilities) == {"clear", "opacity"}
    assert [label for label, _ in ai_window.results_pane.bars.rows()] == ["clear", "opacity"]
    assert [ai_window.list_panel.sort_picker.itemData(i) for i in range(3)] == [None, "clear", "opacity"]


def test_model_card_opens_as_rendered_markdown(qtbot, ai_window, monkeypatch):
    from cxrviewer.gui import dialogs

    shown = []
    monkeypatch.setattr(dialogs.QDialog, "exec", lambda self: shown.append(self.browser.toPlainText()))
    ai_window.results_pane.card_button.click()
    assert shown and "Untrained model (random weights)" in shown[0] and "# Untrained" not in shown[0]
    assert "not for diagnosis" in shown[0]


def test_model_option_on_the_command_line(tmp_path):
    args = gui_app.parse_args(["--model", str(tmp_path), "x.dcm"])
    assert args.model == tmp_path and args.paths == [Path("x.dcm")]
    assert gui_app.parse_args([]).model is None


def test_model_json_settings_used_by_the_confident_fixture_are_real(confident_model_dir):
    config = json.loads((confident_model_dir / "model.json").read_text())
    assert config["temperature"] < 0.01  # guards the fixture the worded-reading tests rely on


def test_the_window_is_painted_before_torch_is_imported_and_the_model_loads_after(tmp_path, random_model_dir):
    import os
    import subprocess
    import sys

    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from PySide6.QtCore import QSettings\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from cxrviewer.gui.main_window import MainWindow\n"
        f"w = MainWindow(QSettings({str(tmp_path / 's.ini')!r}, QSettings.Format.IniFormat), "
        f"model_dir=Path({str(random_model_dir)!r}))\n"
        "w.show(); w.repaint()\n"
        "assert 'torch' not in sys.modules, 'torch imported before the first paint'\n"
        "end = time.time() + 240\n"
        "while w.ai.model_state == 'loading' and time.time() < end:\n"
        "    app.processEvents(); time.sleep(0.01)\n"
        "assert w.ai.model_state == 'ready' and 'torch' in sys.modules\n"
        "w.close()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr[-2000:]


def test_going_back_to_an_image_shows_its_reading_at_once_and_recomputes_the_map(qtbot, confident_window,
                                                                                  demo_png, demo_jpeg):
    first = show_and_read(qtbot, confident_window, demo_png)
    show_and_read(qtbot, confident_window, demo_jpeg)
    confident_window.image_list.select_path(demo_png)  # decoded image cached: shown synchronously
    pane = confident_window.results_pane
    assert pane.state == "result" and pane.bars.rows() == list(first.probabilities.items())
    assert "Computing the heat map" in pane.cam_status.text()
    with qtbot.waitSignal(confident_window.ai.resultShown, timeout=AI_TIMEOUT_MS) as blocker:
        pass
    assert blocker.args[0].path == demo_png and confident_window.canvas.cam.is_showing()


def test_the_pane_and_status_bar_say_the_model_is_loading_until_it_is(qtbot, settings, random_model_dir):
    from cxrviewer.gui.main_window import MainWindow

    window = MainWindow(settings, model_dir=random_model_dir)
    qtbot.addWidget(window)
    try:
        assert window.results_pane.state == "loading" and "Loading the AI model" in window.results_pane.headline.text()
        assert window.status.model_state.text() == "AI: loading model…"
        window.show()
        with qtbot.waitSignal(window.ai.worker.model_loaded, timeout=AI_TIMEOUT_MS):
            pass
        assert window.results_pane.state == "idle" and "CPU" in window.status.model_state.text()
    finally:
        window.close()
