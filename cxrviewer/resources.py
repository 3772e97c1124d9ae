"""Find bundled data files (demo images, models, icons) from source, installed or frozen.

The repo's top-level ``resources/`` folder is installed as the package
``cxrviewer_resources`` (see pyproject.toml), so ``importlib.resources`` finds
it in every layout, PyInstaller bundles included (build.spec collects it under
that package name).
"""

from __future__ import annotations

import sys
from importlib import resources as _ir
from pathlib import Path

_PACKAGE = "cxrviewer_resources"


def resource_root() -> Path:
    """The folder that holds demo/, models/ and icons/."""
    try:
        return Path(str(_ir.files(_PACKAGE)))
    except ModuleNotFoundError:
        pass
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / _PACKAGE
    # Running from a plain checkout without an install.
    return Path(__file__).resolve().parent.parent / "resources"


def resource_path(*parts: str) -> Path:
    return resource_root().joinpath(*parts)


def demo_images() -> list[Path]:
    """The bundled demo images, sorted by name."""
    folder = resource_path("demo")
    from cxrviewer.io.formats import has_image_extension

    return sorted(p for p in folder.iterdir() if has_image_extension(p))


def demo_credits() -> str:
    return resource_path("demo", "CREDITS.md").read_text(encoding="utf-8")


def bundled_model_dir() -> Path:
    """The model directory the viewer loads by default."""
    return resource_path("models", "cxr3-default")


def bundled_lung_model_dir() -> Path:
    """The lung-field segmenter every classifier shares (absent in builds without it)."""
    return resource_path("models", "lungs")
