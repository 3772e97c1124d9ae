"""Inference fixtures: small random model directories, real chest images (the QThread leak guard is in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxrviewer.io import LoadedImage, load_image
from cxrviewer.model.export import create_random_model_dir

CHEST_PNG = "covid_hannover_4d98e1de.png"
CHEST_DCM = "chest_dx_nih.dcm"


@pytest.fixture(scope="session")
def two_label_model_dir(tmp_path_factory) -> Path:
    return create_random_model_dir(tmp_path_factory.mktemp("models") / "two", labels=("clear", "opacity"), seed=1)


@pytest.fixture(scope="session")
def chest_image(samples_dir: Path) -> LoadedImage:
    return load_image(samples_dir / CHEST_PNG)


@pytest.fixture(scope="session")
def chest_dicom(samples_dir: Path) -> LoadedImage:
    return load_image(samples_dir / CHEST_DCM)


@pytest.fixture(scope="session")
def cxr3_paths(cxr3_dir: Path) -> list[Path]:
    """Twelve real chest X-rays from the test split, in a fixed order."""
    lines = (cxr3_dir / "labels.csv").read_text().splitlines()
    header = lines[0].split(",")
    path_col, split_col = header.index("path"), header.index("split")
    rows = [line.split(",") for line in lines[1:]]
    return [cxr3_dir / r[path_col] for r in rows if r[split_col] == "test"][:12]


@pytest.fixture
def corrupt_file(tmp_path: Path, samples_dir: Path) -> Path:
    """A real PNG cut in half: a file the loader must reject."""
    data = (samples_dir / CHEST_PNG).read_bytes()
    path = tmp_path / "truncated.png"
    path.write_bytes(data[: len(data) // 2])
    return path
