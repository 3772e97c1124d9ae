"""Which tests `make test-quick` (``pytest -m "not slow"``) leaves to `make test`, in one place.

Three rules, applied by tests/conftest.py:

- whole modules, listed in :data:`SLOW_MODULES` with what makes them slow;
- every test that shows the main window (the ``window`` fixture of tests/gui/conftest.py,
  or one built on it): each costs about half a second (two decoder processes, the
  model load in the window's worker, the wait for both on close), together most of a
  minute on 2 cores;
- single tests marked ``@pytest.mark.slow`` where they are defined.

The quick run then takes under a minute here (README, "The two commands"). A new test
that takes more than about a second belongs under one of these rules.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

SLOW_MODULES = {
    "gui/test_adapt_dialog.py": "each test runs a site adaptation in a child process",
    "gui/test_ai_reading.py": "windows that load models and read images with them",
    "gui/test_ai_batch_export.py": "windows that read whole folders with a model",
    "inference/test_cam_reference.py": "EfficientNet-Lite0 with pytorch-grad-cam beside our CAM",
    "inference/test_worker.py": "worker threads that import torch and load models",
    "training/test_adapt.py": "site adaptations (cross-validation, fine-tuning)",
    "training/test_adapt_quality.py": "adapts the bundled model",
    "training/test_ddp.py": "torchrun with two processes",
    "training/test_train_resume.py": "training runs",
    "training/test_bundled_model_quality.py": "the bundled model on 1,203 full-data images",
    "io/test_sandbox.py": "every test starts decoder processes",
    "io/test_hostile_corpus.py": "decoder processes crash and restart on each file",
    "io/test_fuzz_loader.py": "a fuzzing run",
    "io/test_codestream_check.py": "decodes every full-size DICOM",
}


def _module_key(path: Path) -> str | None:
    try:
        return Path(path).resolve().relative_to(TESTS).as_posix()
    except ValueError:
        return None


def is_slow_module(path: Path) -> bool:
    return _module_key(path) in SLOW_MODULES


def mark(items: list[pytest.Item]) -> None:
    for item in items:
        if is_slow_module(item.path) or "window" in item.fixturenames:
            item.add_marker(pytest.mark.slow)


def skip_import(path: Path, config: pytest.Config) -> bool:
    """With exactly ``-m "not slow"``, do not even import the slow modules: their imports
    (pytorch-grad-cam, the adaptation package, ...) are seconds of the quick run."""
    return config.getoption("markexpr", "") == "not slow" and is_slow_module(path)
