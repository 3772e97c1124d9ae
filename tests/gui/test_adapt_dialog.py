"""AI ▸ Adapt to this site…: check the data, adapt in a child process, compare, hot-swap, go back."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxrviewer.resources import bundled_model_dir
from tests.gui.conftest import AI_TIMEOUT_MS
from tests.training.test_adapt import write_site

FAST = ("--epochs", "2", "--views", "2", "--folds", "2", "--bootstrap", "50", "--batch-size", "16")
RUN_TIMEOUT_MS = 240_000
LABEL_MAP = "healthy=normal,sick=pneumonia"


@pytest.fixture
def dialog(qtbot, ai_window, tmp_path, monkeypatch):
    from cxrviewer.gui.adapt_dialog import AdaptDialog

    monkeypatch.setattr(AdaptDialog, "extra_arguments", FAST)
    ai_window.adapted_models_root = tmp_path / "adapted"
    ai_window.show_adapt_dialog()
    dlg = ai_window.adapt_dialog
    qtbot.waitExposed(dlg)
    yield dlg
    dlg.close()
    assert not dlg.process.is_running()


@pytest.fixture(scope="module")
def site_csv(cxr3_dir, tmp_path_factory) -> Path:
    return write_site(cxr3_dir, tmp_path_factory.mktemp("site"))


def test_the_data_check_names_unknown_labels_and_counts_known_ones(qtbot, dialog, site_csv):
    with qtbot.waitSignal(dialog.process.checked, timeout=60_000):
        dialog.set_data(site_csv)
    assert "healthy" in dialog.check_label.text() and "normal, pneumonia, covid" in dialog.check_label.text()
    assert not dialog.start_button.isEnabled()
    with qtbot.waitSignal(dialog.process.checked, timeout=60_000):
        dialog.set_data(site_csv, LABEL_MAP)
    text = dialog.check_label.text()
    assert "normal: <b>10</b>" in text and "pneumonia: <b>10</b>" in text and "No images of covid" in text
    assert text.index("normal:") < text.index("pneumonia:") < text.index("covid:")  # the model's class order
    assert dialog.start_button.isEnabled()


def test_adapt_compare_use_and_go_back(qtbot, ai_window, dialog, site_csv):
    with qtbot.waitSignal(dialog.process.checked, timeout=60_000):
        dialog.set_data(site_csv, LABEL_MAP)
    progress = []
    dialog.process.progress.connect(progress.append)
    with qtbot.waitSignal(dialog.process.done, timeout=RUN_TIMEOUT_MS) as done:
        dialog.start_button.click()
        assert dialog.cancel_button.isEnabled() and not dialog.start_button.isEnabled()
    report = done.args[0]
    assert {"before", "after", "intervals", "curves", "method"} <= set(report)
    assert any(p.get("held_out_macro_f1") is not None for p in progress)
    assert any(p.get("epoch") == "2/2" for p in progress)
    overall = [p["overall"] for p in progress]
    assert overall == sorted(overall) and overall[-1] == 1.0  # the bar never goes back and ends full
    assert dialog.results_box.isVisible() and dialog.results.count() == 5
    assert dialog.results.findChild(object, "roc_plot") is not None
    model_dir = Path(report["model_dir"])
    assert model_dir.parent == ai_window.adapted_models_root and (model_dir / "model.json").is_file()

    with qtbot.waitSignal(ai_window.ai.worker.model_loaded, timeout=AI_TIMEOUT_MS):
        dialog.use_button.click()
    assert ai_window.ai.model_info.model_dir == model_dir
    assert model_dir.name in ai_window.results_pane.model_label.text()

    with qtbot.waitSignal(ai_window.ai.worker.model_loaded, timeout=AI_TIMEOUT_MS):
        dialog.bundled_button.click()
    assert ai_window.ai.model_info.model_dir == bundled_model_dir()


def test_cancel_stops_the_child_and_writes_no_model(qtbot, dialog, site_csv, monkeypatch):
    from cxrviewer.gui.adapt_dialog import AdaptDialog

    monkeypatch.setattr(AdaptDialog, "extra_arguments", (*FAST, "--epochs", "500"))
    with qtbot.waitSignal(dialog.process.checked, timeout=60_000):
        dialog.set_data(site_csv, LABEL_MAP)
    with qtbot.waitSignal(dialog.process.progress, timeout=RUN_TIMEOUT_MS,
                          check_params_cb=lambda e: e["phase"].startswith("cross-validating finetune")):
        dialog.start_button.click()
    with qtbot.waitSignal(dialog.process.cancelled, timeout=30_000):
        dialog.cancel_button.click()
    assert "Cancelled" in dialog.status_label.text()
    out = dialog._out
    assert not (out / "model.json").exists()
    assert dialog.start_button.isEnabled() and not dialog.process.is_running()


def test_the_summary_shows_what_was_kept_of_the_base_models_data(qtbot, site_csv, random_model_dir, cxr3_dir,
                                                                 tmp_path):
    """A run given the base model's data (cxr3) reports its held-out rows; the Summary tab shows them."""
    import json

    from PySide6.QtWidgets import QTableWidget

    from cxrviewer.cli.main import main as cxr_main
    from cxrviewer.gui.adapt_results import results_widget

    out = tmp_path / "adapted"
    assert cxr_main(["adapt", "--data", str(site_csv), "--out", str(out), "--model", str(random_model_dir),
                     "--label-map", LABEL_MAP, "--methods", "linear", *FAST,
                     "--source-data", str(cxr3_dir / "labels.csv"), "--source-per-class", "4"]) == 0
    report = json.loads((out / "adaptation.json").read_text())
    widget = results_widget(report)
    qtbot.addWidget(widget)
    table = widget.findChild(QTableWidget, "retention_table")
    assert table is not None and table.rowCount() == 2 + 3  # macro-F1, AUC, one sensitivity per class
    kept = report["retention"]
    assert table.item(0, 1).text() == str(kept["images"])
    assert table.item(0, 3).text() == f"{kept['after']['macro_f1']:.3f}"
    assert table.item(4, 0).text() == "Sensitivity covid" and table.item(4, 1).text() == str(kept["before"]["support"]["covid"])
