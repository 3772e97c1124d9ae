"""Import pyqtgraph without the two costs of its import that the viewer never uses.

1. Its RawImageWidget probes for NVIDIA's ``cuda.bindings`` to draw GPU arrays; where a
   CUDA build of torch has installed that package the probe costs about 0.1 s, and the
   viewer never draws GPU arrays. The probe is answered "absent" while pyqtgraph is first
   imported, and only then, so torch can still import the package later.

2. ``pyqtgraph.Qt`` keeps its own mirror modules of QtCore, QtGui and QtWidgets and fills
   them by copying every name of ``dir(PySide6.QtX)``. Since 6.7, PySide6 creates its ~700
   classes lazily, on first access, and that copy creates all of them (a bare loop doing
   the same took 0.09-0.12 s), where the window uses about 60 of QtWidgets' 200. Here the
   mirrors are modules that fetch a name from PySide6 when it is first asked for, and
   PySide6's module listing is empty while pyqtgraph copies it, so nothing is created
   early. pyqtgraph's import went from 0.47 to 0.25 s under ``python -X importtime``; part
   of that returns when the window is built and creates the classes it does use, and the
   window was shown 0.05 s sooner (0.64 -> 0.59 s in two runs of benchmarks/bench_startup.py,
   7 repeats each, start-up collection paused in both). Every name still resolves to the very object PySide6 has
   (tests/gui/test_startup_imports.py).

   Applied only where it is known to be right: PySide6 loads lazily (its modules define
   ``__dir__``) and pyqtgraph's mirror packages are empty (as in 0.13 and 0.14). Otherwise
   pyqtgraph is imported as it is.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import ModuleType

MIRRORED = ("QtCore", "QtGui", "QtWidgets")
_OWN = frozenset({"__file__", "__cached__", "__builtins__", "__getattr__", "__dir__"})  # never PySide6's


class LazyQtMirror(ModuleType):
    """``pyqtgraph.Qt.QtX``: a name is fetched from ``PySide6.QtX`` (and kept) when first read."""

    def __init__(self, name: str, source: ModuleType) -> None:
        super().__init__(name)
        self.__dict__["_source"] = source
        self.__path__: list[str] = []  # a package, as pyqtgraph's own mirror is

    def __getattr__(self, name: str) -> object:
        if name in _OWN:
            raise AttributeError(name)
        value = getattr(self.__dict__["_source"], name)  # AttributeError as from PySide6
        setattr(self, name, value)
        return value

    def __dir__(self) -> list[str]:
        return sorted(set(self.__dict__) | set(dir(self.__dict__["_source"])))


def import_pyqtgraph() -> None:
    if "pyqtgraph" in sys.modules:
        return
    with _cuda_probe_answered_absent(), _lazy_qt_mirrors():
        import pyqtgraph  # noqa: F401


@contextmanager
def _cuda_probe_answered_absent() -> Iterator[None]:
    probed = "cuda.bindings.runtime"
    blocked = probed not in sys.modules
    if blocked:
        sys.modules[probed] = None  # `from cuda.bindings import runtime` raises ImportError
    try:
        yield
    finally:
        if blocked and sys.modules.get(probed, ...) is None:
            del sys.modules[probed]


@contextmanager
def _lazy_qt_mirrors() -> Iterator[None]:
    sources = [importlib.import_module(f"PySide6.{name}") for name in MIRRORED]
    if not all("__dir__" in source.__dict__ for source in sources) or not _pyqtgraph_mirrors_are_empty():
        yield
        return
    mirrors = {f"pyqtgraph.Qt.{name}": LazyQtMirror(f"pyqtgraph.Qt.{name}", source)
               for name, source in zip(MIRRORED, sources)}
    listings = [source.__dict__["__dir__"] for source in sources]
    sys.modules.update(mirrors)
    for source in sources:
        source.__dir__ = _nothing_listed  # pyqtgraph's copy loop then copies nothing
    try:
        yield
    except BaseException:
        for name, mirror in mirrors.items():
            if sys.modules.get(name) is mirror:
                del sys.modules[name]
        raise
    finally:
        for source, listing in zip(sources, listings):
            source.__dir__ = listing


def _nothing_listed() -> list[str]:
    return []


def _pyqtgraph_mirrors_are_empty() -> bool:
    """True when pyqtgraph's QtCore/QtGui/QtWidgets packages hold no code of their own.

    Read from the files without importing pyqtgraph; where they cannot be read (a frozen
    bundle keeps them in its archive) the bundle ships the version the tests checked.
    """
    spec = importlib.util.find_spec("pyqtgraph")
    if spec is None or not spec.submodule_search_locations:
        return False
    for name in MIRRORED:
        init = Path(next(iter(spec.submodule_search_locations))) / "Qt" / name / "__init__.py"
        with suppress(OSError):
            if init.read_text(encoding="utf-8").strip():
                return False
    return True
