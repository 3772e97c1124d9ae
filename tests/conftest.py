"""Shared fixtures: real data (the full sets or the committed fixture set) and a guard against leaked threads."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from tests import data_root, slow_tests

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# The full data sets when present, else tests/data (tests/data_root.py): every data
# fixture below reads this one folder, so a run never mixes the two.
DATA = data_root.data_root()
DICOM_DIR = DATA / "dicom"
CXR3_DIR = DATA / "cxr3"
SAMPLES_DIR = DATA / "samples"


def pytest_configure(config) -> None:
    # CI has the full data and sets CXR_REQUIRE_FULL_DATA=1: if it is missing there, stop at
    # once instead of quietly running the small set and skipping the tests that need the rest.
    if data_root.full_data_required() and data_root.full_data_root() is None:
        raise pytest.UsageError(
            f"{data_root.ENV_REQUIRE_FULL}=1 but the full data sets are not at "
            f"{data_root.full_data_candidate()} (see README 'Test data')")


def pytest_report_header(config) -> str:
    return data_root.describe()


def pytest_collection_modifyitems(items) -> None:
    slow_tests.mark(items)  # what `make test-quick` leaves out (tests/slow_tests.py)


def pytest_ignore_collect(collection_path, config):
    return True if slow_tests.skip_import(collection_path, config) else None


def _require(path: Path) -> Path:
    if not path.exists():  # tests/data is committed, so this means a broken checkout
        pytest.fail(f"test data missing: {path} (rebuild it with tests/data/make_fixtures.py)")
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
def full_data() -> Path:
    """The full data sets' folder, for a test that cannot mean anything on the fixture set
    (model quality over a whole split, training on thousands of images). Skips without it,
    with one reason for all such tests; fails instead where CXR_REQUIRE_FULL_DATA=1 (CI)."""
    root = data_root.full_data_root()
    if root is None:
        if data_root.full_data_required():
            pytest.fail(f"{data_root.ENV_REQUIRE_FULL}=1: {data_root.FULL_DATA_REASON}")
        pytest.skip(data_root.FULL_DATA_REASON)
    return root


@pytest.fixture
def one_torch_thread():
    """For a test that runs a model over a whole data split. With two intra-op threads on
    two cores that anything else also uses, torch spin-waits: the bundled classifier took
    184 ms per image against 84 ms with one thread, with one other job running."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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
