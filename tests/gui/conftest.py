"""GUI fixtures: an isolated settings file and a shown MainWindow (the QThread leak guard is in tests/conftest.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from cxrviewer.resources import demo_images

CHEST_CR = "chest_cr_mono1_j2k_lossy.dcm"
CHEST_DX = "chest_dx_mono2_uncompressed.dcm"
LOAD_TIMEOUT_MS = 30_000  # generous: the CPU is shared with training jobs


# The offscreen platform plugin warns that it cannot propagate dock size hints; that is
# a limit of the headless test platform, not of the viewer, so only that message is allowed.
_OFFSCREEN_NOISE = r"This plugin does not support propagateSizeHints\(\)"


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.qt_log_ignore(_OFFSCREEN_NOISE))


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "cxrviewer.ini"), QSettings.Format.IniFormat)


def show_main_window(qtbot, settings, prepare=None):
    """A MainWindow on ``settings``, 1200x800, shown and exposed; ``prepare(win)`` runs before it is shown."""
    from cxrviewer.gui.main_window import MainWindow

    win = MainWindow(settings)
    if prepare is not None:
        prepare(win)
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    qtbot.waitExposed(win)
    return win


@pytest.fixture
def window(qtbot, settings):
    win = show_main_window(qtbot, settings)
    yield win
    win.close()


@pytest.fixture
def chest_cr(dicom_dir: Path) -> Path:
    return dicom_dir / CHEST_CR


@pytest.fixture
def chest_dx(dicom_dir: Path) -> Path:
    return dicom_dir / CHEST_DX


@pytest.fixture
def demo_png() -> Path:
    return next(p for p in demo_images() if p.suffix == ".png")


@pytest.fixture
def demo_jpeg() -> Path:
    return next(p for p in demo_images() if p.suffix == ".jpg")


@pytest.fixture
def random_bytes_file(tmp_path: Path) -> Path:
    path = tmp_path / "broken.dcm"
    path.write_bytes(np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return path


@pytest.fixture
def study_folder(tmp_path: Path, chest_dx: Path, demo_png: Path) -> Path:
    """A folder with an image at the top and one in a sub-folder, plus a non-image file."""
    root = tmp_path / "study"
    (root / "series2").mkdir(parents=True)
    shutil.copy(chest_dx, root / "a_chest.dcm")
    shutil.copy(demo_png, root / "series2" / "b_chest.png")
    (root / "notes.txt").write_text("not an image")
    return root


def wait_until_shown(qtbot, window, path: Path) -> None:
    """Block (processing events) until `path` is on the canvas."""
    qtbot.waitUntil(lambda: window.canvas.image is not None and window.canvas.image.path == path,
                    timeout=LOAD_TIMEOUT_MS)


def wait_until_idle(qtbot, window) -> None:
    qtbot.waitUntil(lambda: not window.loader.busy(), timeout=LOAD_TIMEOUT_MS)


# ----- AI second reader ----------------------------------------------------------------------
AI_TIMEOUT_MS = 120_000  # model load (torch import) and analysis on a CPU shared with training
DENTAL = "dental_cr_mono1_jpeg_lossless_modality_lut.dcm"


@pytest.fixture(scope="session")
def confident_model_dir(tmp_path_factory) -> Path:
    """The random model exported with a sharp temperature and no OOD threshold, so it gives
    worded readings (editing model.json afterwards would be refused as tampering)."""
    from cxrviewer.model.export import create_random_model_dir

    target = tmp_path_factory.mktemp("models") / "confident"
    return create_random_model_dir(target, seed=0, temperature=0.002, ood_threshold=1e30)


def make_ai_window(qtbot, settings, model_dir: Path):
    """A shown MainWindow whose model has finished loading (or failing)."""
    from cxrviewer.gui.main_window import MainWindow

    win = MainWindow(settings, model_dir=model_dir)
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    qtbot.waitUntil(lambda: win.ai.model_state != "loading", timeout=AI_TIMEOUT_MS)
    return win


@pytest.fixture
def ai_window(qtbot, settings, random_model_dir):
    win = make_ai_window(qtbot, settings, random_model_dir)
    yield win
    win.close()


@pytest.fixture
def confident_window(qtbot, settings, confident_model_dir):
    win = make_ai_window(qtbot, settings, confident_model_dir)
    yield win
    win.close()


def show_and_read(qtbot, window, path: Path):
    """Open ``path`` and wait until its reading (with heat map) is in the pane; returns the result."""
    with qtbot.waitSignal(window.ai.resultShown, timeout=AI_TIMEOUT_MS,
                          check_params_cb=lambda r: r.path == path) as blocker:
        window.open_paths([path], remember=False)
    return blocker.args[0]
