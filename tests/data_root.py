"""Where the tests' real images come from: the full data sets when present, else the committed fixture set.

The full sets (about 220 MB: cxr3, lungs, dicom, samples) sit in ``$CXR_SHARED_DATA``
or, by default, in ``../shared/data`` beside the repository; a fresh clone has none.
``tests/data/`` holds a small subset laid out the same way (same folder names, same
``labels.csv`` columns, byte-identical files), so every test that only needs *some*
real images runs on either. A test that needs the full sets asks for the
``full_data`` fixture (tests/conftest.py), which skips with :data:`FULL_DATA_REASON`.

No pytest import here: ``tests/hostile_corpus.py`` also runs as a plain script.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = REPO_ROOT / "tests" / "data"
ENV_FULL_DATA = "CXR_SHARED_DATA"
ENV_REQUIRE_FULL = "CXR_REQUIRE_FULL_DATA"  # CI sets it: a skip for want of data becomes a failure
FULL_DATA_REASON = "needs the full data sets in ../shared/data (see README 'Test data')"

# What makes a folder "the full data": every set the tests read. A half-copied
# folder must not be taken for it (tests would then fail on missing files instead
# of running on the fixture set).
_REQUIRED = ("cxr3/labels.csv", "lungs/labels.csv", "dicom", "samples")


def full_data_candidate() -> Path:
    """Where the full data sets are looked for (they may be absent)."""
    configured = os.environ.get(ENV_FULL_DATA)
    return Path(configured).expanduser() if configured else REPO_ROOT.parent / "shared" / "data"


def full_data_root() -> Path | None:
    """The full data sets' folder, or None where they are absent (a fresh clone)."""
    root = full_data_candidate()
    return root if all((root / part).exists() for part in _REQUIRED) else None


def full_data_required() -> bool:
    return os.environ.get(ENV_REQUIRE_FULL, "") not in ("", "0")


def data_root() -> Path:
    """The folder every data fixture reads: the full sets when present, else ``tests/data``."""
    return full_data_root() or FIXTURES


def describe() -> str:
    """One line for the test report header: which data this run reads."""
    full = full_data_root()
    if full is not None:
        return f"test data: {full} (full data sets)"
    return (f"test data: {FIXTURES} (fixture set; no full data at {full_data_candidate()}, "
            f"tests that need it skip)")
