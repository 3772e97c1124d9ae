"""Shared fixtures: real data from ../shared and a guard against leaked threads."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
DICOM_DIR = SHARED_DATA / "dicom"
CXR3_DIR = SHARED_DATA / "cxr3"
SAMPLES_DIR = SHARED_DATA / "samples"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"test data missing: {path} (the repo expects ../shared beside it)")
    return path


@pytest.fixture(scope="session")
def dicom_dir() -> Path:
    return _require(DICOM_DIR)


@pytest.fixture(scope="session")
def cxr3_dir() -> Path:
    return _require(CXR3_DIR)


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return _require(SAMPLES_DIR)


@pytest.fixture(scope="session")
def dicom_files(dicom_dir: Path) -> list[Path]:
    files = sorted(dicom_dir.glob("*.dcm"))
    assert len(files) >= 7
    return files


@pytest.fixture(autouse=True)
def no_leaked_qthreads(monkeypatch):
    """Fail a test that leaves a QThread running (threading.enumerate() cannot see them).

    Active once Qt is imported; QThread.start is wrapped to record every thread.
    """
    if "PySide6.QtCore" not in sys.modules:
        yield
        return
    from PySide6.QtCore import QThread

    started: list[QThread] = []
    original_start = QThread.start

    def recording_start(self, *args):
        started.append(self)
        return original_start(self, *args)

    monkeypatch.setattr(QThread, "start", recording_start)
    yield
    running = [t.objectName() or repr(t) for t in started if _qthread_running(t)]
    assert not running, f"test left QThreads running: {running}"


def _qthread_running(thread) -> bool:
    try:
        return thread.isRunning()
    except RuntimeError:  # the C++ object is gone, so the thread is too
        return False


@pytest.fixture(scope="session")
def random_model_dir(tmp_path_factory) -> Path:
    """A small untrained model directory (seconds to build) shared by the whole session.

    Its classes come out at about 1/3 each and its OOD detector flags real chest X-rays.
    """
    from cxrviewer.model.export import create_random_model_dir

    return create_random_model_dir(tmp_path_factory.mktemp("models") / "random", seed=0)


def _live_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.is_alive()}


@pytest.fixture(autouse=True)
def no_leaked_threads(request):
    """Fail a test that leaves Python threads or QThreads running."""
    before = _live_threads()
    yield
    # Give threads a moment to finish their own shutdown.
    deadline = threading.Event()
    leaked: set[threading.Thread] = set()
    for _ in range(50):
        leaked = {t for t in _live_threads() - before if not t.daemon or t.name.startswith("cxr")}
        if not leaked:
            break
        deadline.wait(0.05)
    assert not leaked, f"test left threads running: {sorted(t.name for t in leaked)}"
    if "qtbot" in request.fixturenames:
        from PySide6.QtCore import QThreadPool

        pool = QThreadPool.globalInstance()
        assert pool.waitForDone(5000), "test left QThreadPool work running"
