"""Batch reading of opened folders, the triage worklist, cancel/close mid-batch, and exports."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from cxrviewer.gui import view_export
from cxrviewer.gui.ai_format import label_title
from cxrviewer.gui.model_summary import model_name

from .conftest import AI_TIMEOUT_MS, show_and_read, wait_until_shown

PATIENT_NAME = "CompressedSamples^RG1"  # in chest_cr's header


def _cxr3_test_images(cxr3_dir: Path, count: int) -> list[Path]:
    lines = (cxr3_dir / "labels.csv").read_text().splitlines()
    header = lines[0].split(",")
    path_col, split_col = header.index("path"), header.index("split")
    rows = [line.split(",") for line in lines[1:]]
    return [cxr3_dir / r[path_col] for r in rows if r[split_col] == "test"][:count]


@pytest.fixture
def folder_of_20(tmp_path, cxr3_dir) -> Path:
    folder = tmp_path / "worklist"
    folder.mkdir()
    for i, path in enumerate(_cxr3_test_images(cxr3_dir, 20)):
        shutil.copy(path, folder / f"{i:02d}_{path.name}")
    return folder


@pytest.fixture
def small_study(tmp_path, chest_cr, samples_dir) -> Path:
    folder = tmp_path / "Doe_John_study"  # a folder named after a patient, as hospitals do
    folder.mkdir()
    shutil.copy(chest_cr, folder / "a_chest_cr.dcm")
    for path in sorted(samples_dir.glob("*.jpg")) + sorted(samples_dir.glob("*.png")):
        shutil.copy(path, folder / path.name)
    return folder


def _read_folder(qtbot, window, folder: Path):
    with qtbot.waitSignal(window.ai.worker.batch_finished, timeout=AI_TIMEOUT_MS * 3) as blocker:
        window.open_paths([folder], remember=False)
    return blocker.args[0]


def test_a_folder_is_read_in_the_background_with_progress(qtbot, confident_window, small_study):
    seen = []
    confident_window.ai.worker.batch_progress.connect(seen.append)
    done = _read_folder(qtbot, confident_window, small_study)
    paths = confident_window.image_list.paths()
    assert done.total == len(paths) == 5 and done.done == 5 and not done.cancelled
    assert seen and seen[-1].done == 5
    assert all(confident_window.image_list.reading_text(p).endswith("%") for p in paths)
    assert not confident_window.status.batch_progress.isVisible()
    assert confident_window.status.batch_note.text() == "AI done: 5 of 5 read"


def test_the_worklist_sorts_by_a_class_probability_and_keeps_the_selection(qtbot, confident_window, small_study):
    _read_folder(qtbot, confident_window, small_study)
    window, results = confident_window, confident_window.ai.results
    opened = window.image_list.paths()
    selected = window.image_list.current_path()
    window.list_panel.sort_by("covid")
    by_covid = window.image_list.paths()
    assert by_covid == sorted(opened, key=lambda p: -results[p].probabilities["covid"])
    for path in by_covid:  # each row says the probability it is ranked by
        if results[path].label != "covid":
            assert window.image_list.reading_text(path).startswith("COVID-19 ")
    assert window.image_list.current_path() == selected
    window.list_panel.sort_by("pneumonia")
    assert window.image_list.paths() == sorted(opened, key=lambda p: -results[p].probabilities["pneumonia"])
    window.list_panel.sort_by(None)
    assert window.image_list.paths() == opened


def test_out_of_distribution_images_go_after_the_scored_ones(qtbot, ai_window, small_study):
    _read_folder(qtbot, ai_window, small_study)  # the random model flags every real image as OOD
    opened = ai_window.image_list.paths()
    ai_window.list_panel.sort_by("covid")
    assert ai_window.image_list.paths() == opened  # no OOD image is ranked by a meaningless probability
    assert all("not a chest X-ray" in ai_window.image_list.reading_text(p) for p in opened)


def test_cancel_stops_the_batch_and_keeps_what_was_read(qtbot, ai_window, folder_of_20):
    with qtbot.waitSignal(ai_window.ai.worker.batch_progress, timeout=AI_TIMEOUT_MS):
        ai_window.open_paths([folder_of_20], remember=False)
    assert ai_window.status.batch_progress.isVisible()
    with qtbot.waitSignal(ai_window.ai.worker.batch_finished, timeout=AI_TIMEOUT_MS) as blocker:
        ai_window.status.batch_cancel.click()
    assert blocker.args[0].cancelled and blocker.args[0].done < 20
    assert not ai_window.status.batch_progress.isVisible()
    assert ai_window.status.batch_note.text().startswith("AI stopped: ")


def test_closing_the_window_mid_batch_stops_every_thread(qtbot, ai_window, folder_of_20):
    with qtbot.waitSignal(ai_window.ai.worker.batch_progress, timeout=AI_TIMEOUT_MS):
        ai_window.open_paths([folder_of_20], remember=False)
    assert ai_window.ai.batch_running()
    ai_window.close()
    assert not ai_window.ai.worker.is_running() and not ai_window.loader.is_running()
    # (the autouse fixtures fail the test if any QThread or Python thread is left running)


# ----- exports ------------------------------------------------------------------------------------------
def test_png_export_is_the_full_resolution_view_without_patient_text(qtbot, confident_window, chest_cr, tmp_path):
    show_and_read(qtbot, confident_window, chest_cr)
    window = confident_window
    qtbot.keyClick(window, Qt.Key.Key_R)  # rotated on screen -> rotated in the file
    out = window.exporter.export_view(tmp_path / "view.png")
    assert out == tmp_path / "view.png" and sorted(p.name for p in tmp_path.iterdir()) == ["view.png"]
    image = QImage(str(out)).convertToFormat(QImage.Format.Format_RGB888)
    height, width = window.canvas.image.pixels.shape
    assert image.width() == height and image.height() > width  # a quarter turn swaps the sides; caption below
    cam = window.canvas.cam
    expected = view_export.compose_rgb(window.canvas.image, window.canvas.window, False, cam.map_u8, cam.lut,
                                       cam.opacity)
    rotated = np.rot90(expected, k=-1)  # clockwise, as R turns the view
    assert np.array_equal(_array(image)[:width], rotated)  # every pixel of the film, untouched
    assert PATIENT_NAME.encode() not in out.read_bytes()
    assert "Research use only" in image.text("Description")  # the caption has no patient data, so it is always there


def test_png_export_burns_in_the_corner_text_only_when_asked(qtbot, confident_window, chest_cr, tmp_path):
    show_and_read(qtbot, confident_window, chest_cr)
    plain = QImage(str(confident_window.exporter.export_view(tmp_path / "plain.png")))
    confident_window.exporter.include_identifiers.setChecked(True)
    named = QImage(str(confident_window.exporter.export_view(tmp_path / "named.png")))
    corner = (slice(0, 60), slice(0, 300))
    a, b = _array(plain), _array(named)
    assert not np.array_equal(a[corner], b[corner])  # text burned into the top-left corner
    assert np.array_equal(a[a.shape[0] // 2], b[b.shape[0] // 2])  # the middle of the image is untouched


def test_png_export_carries_the_reading_model_and_research_use_line(qtbot, confident_window, chest_cr, tmp_path):
    """Below the film, always (no patient data in it): research use, the AI reading, the model; no zoom."""
    result = show_and_read(qtbot, confident_window, chest_cr)
    window = confident_window
    window.canvas.zoom_in()
    window.exporter.include_identifiers.setChecked(True)
    corners = window.exporter._corners()
    assert not any("Zoom" in line for lines in corners.values() for line in lines)
    assert "Zoom" in window.overlay.text("bottom_left")  # on screen it stays
    out = window.exporter.export_view(tmp_path / "view.png")
    image = QImage(str(out))
    caption = image.text("Description")
    lines = caption.splitlines()
    assert lines[0].startswith("Research use only")
    assert lines[1].startswith(f"AI reading: {label_title(result.label)}")
    assert lines[2].startswith(f"Model: {model_name(window.ai.model_info)}, version {window.ai.model_version}")
    height = window.canvas.image.height
    strip = _array(image)[height:]
    assert image.height() > height and strip.shape[0] >= 3 * 12
    amber = (strip[..., 0] > 200) & (strip[..., 1] > 160) & (strip[..., 2] < 160)
    assert amber[: strip.shape[0] // 3].any()  # the research-use line, drawn in amber


def _array(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    # A copy: the buffer belongs to the converted QImage, which dies with this function.
    return rows[:, : 3 * image.width()].reshape(image.height(), image.width(), 3).copy()


def test_report_lists_every_reading_and_no_patient_data(qtbot, confident_window, small_study, tmp_path):
    _read_folder(qtbot, confident_window, small_study)
    wait_until_shown(qtbot, confident_window, small_study / "a_chest_cr.dcm")
    qtbot.waitUntil(lambda: confident_window.ai.current_result is not None, timeout=AI_TIMEOUT_MS)
    out = tmp_path / "out"
    out.mkdir()
    csv_path, json_path = confident_window.exporter.export_report(out / "report.csv")
    assert sorted(p.name for p in out.iterdir()) == ["report.csv", "report.json"]  # no temp files left
    rows = list(csv.DictReader(csv_path.read_text().splitlines()))
    assert [r["file"] for r in rows] == [p.name for p in confident_window.image_list.paths()]
    assert set(rows[0]) >= {"label", "confidence", "uncertain", "ood_flag", "ood_score", "p_normal", "p_covid"}
    for row in rows:
        total = sum(float(row[f"p_{label}"]) for label in ("normal", "pneumonia", "covid"))
        assert total == pytest.approx(1.0, abs=1e-4)
    report = json.loads(json_path.read_text())
    assert len(report["images"]) == 5 and "not for diagnosis" in report["research_use_only"]
    assert report["model"]["name"] == "confident"
    for text in (csv_path.read_text(), json_path.read_text()):
        assert PATIENT_NAME not in text and "Doe_John" not in text and str(tmp_path) not in text


def test_report_names_patients_and_paths_when_asked(qtbot, confident_window, small_study, tmp_path):
    _read_folder(qtbot, confident_window, small_study)
    wait_until_shown(qtbot, confident_window, small_study / "a_chest_cr.dcm")
    confident_window.exporter.include_identifiers.setChecked(True)
    csv_path, _ = confident_window.exporter.export_report(tmp_path / "named")
    rows = {r["file"]: r for r in csv.DictReader(csv_path.read_text().splitlines())}
    assert rows["a_chest_cr.dcm"]["path"] == str(small_study / "a_chest_cr.dcm")
    assert "CompressedSamples" in rows["a_chest_cr.dcm"]["patient_name"]


def test_another_model_reads_the_whole_list_again(qtbot, ai_window, small_study, confident_model_dir):
    _read_folder(qtbot, ai_window, small_study)
    assert all("not a chest X-ray" in ai_window.image_list.reading_text(p) for p in ai_window.image_list.paths())
    with qtbot.waitSignal(ai_window.ai.worker.batch_finished, timeout=AI_TIMEOUT_MS * 3,
                          check_params_cb=lambda p: not p.cancelled):
        ai_window.ai.load_model(confident_model_dir)
    readings = [ai_window.image_list.reading_text(p) for p in ai_window.image_list.paths()]
    assert all(text.endswith("%") for text in readings), readings  # the confident model's worded readings


def test_a_folder_opened_while_a_missing_model_loads_leaves_the_list_and_messages_alone(qtbot, settings, tmp_path,
                                                                                      small_study):
    from cxrviewer.gui.main_window import MainWindow

    window = MainWindow(settings, model_dir=tmp_path / "no-model")
    qtbot.addWidget(window)
    try:
        window.open_paths([small_study], remember=False)  # queued before the model has even started loading
        qtbot.waitUntil(lambda: window.image_list.count() == 5, timeout=AI_TIMEOUT_MS)
        assert window.ai.batch_running()
        with qtbot.waitSignal(window.ai.worker.batch_finished, timeout=AI_TIMEOUT_MS):
            window.show()  # the worker starts after the first paint, finds no model, and fails the batch
        assert window.ai.model_state == "none"
        assert all(window.image_list.reading_text(p) == "" for p in window.image_list.paths())
        assert window.status.batch_note.text() == "" and not window.status.batch_progress.isVisible()
    finally:
        window.close()


def test_view_export_and_cxr_predict_draw_identical_heat_map_pixels(qtbot, confident_window, confident_model_dir,
                                                                     chest_dx, tmp_path):
    """One renderer: the exported view (default window, default opacity) equals the CLI's CAM PNG."""
    from cxrviewer.cli.main import main as cxr_main

    result = show_and_read(qtbot, confident_window, chest_dx)
    exported = confident_window.exporter.export_view(tmp_path / "view.png")
    code = cxr_main(["predict", str(chest_dx), "--model", str(confident_model_dir), "--cam-dir", str(tmp_path / "cams"),
                     "--device", "cpu"])
    assert code == 0
    cli_png = QImage(str(tmp_path / "cams" / f"{chest_dx.stem}.cam.png")).convertToFormat(QImage.Format.Format_RGB888)
    gui_png = QImage(str(exported)).convertToFormat(QImage.Format.Format_RGB888)
    assert result.cam is not None and confident_window.canvas.cam.is_showing()
    film = _array(cli_png)
    assert np.array_equal(_array(gui_png)[: film.shape[0]], film)  # the viewer's caption strip comes below
