"""Guard against a PySide6 6.12.0 defect that aborts the viewer mid-session on Python 3.11.

PySide6/shiboken6 6.12.0 (abi3 wheels) hand back ``None`` from void methods and
``True`` from every ``Signal.emit()`` without taking the reference they later
give up (6.11.3 does not). Python 3.12+ never frees these singletons, so nothing
shows there; on CPython 3.11 a few thousand calls - one right-drag or a minute of
mouse movement - bring a count to zero and the interpreter aborts with
"none_dealloc: deallocating None" or "bool_dealloc". The reader loses the session.

The fix is a PySide6 other than 6.12.0 (a pin the project must add). Until then
:func:`install` probes for the defect and, only where it is present, gives the
singletons a reference count no session can exhaust - the same immortality
Python 3.12 gives them. It does nothing on unaffected installs.
"""

from __future__ import annotations

import ctypes
import logging
import platform
import sys

log = logging.getLogger(__name__)

_PROBE_CALLS = 64
_HEADROOM = 1 << 40  # far more calls than any session will make
_installed = False


def _references(obj: object) -> int:
    return sys.getrefcount(obj)


def _add_references(obj: object, count: int) -> None:
    # CPython keeps ob_refcnt as the first Py_ssize_t of every object.
    ctypes.c_ssize_t.from_address(id(obj)).value += count


def _leak_per_call(obj: object, call) -> float:
    before = _references(obj)
    for _ in range(_PROBE_CALLS):
        call()
    lost = before - _references(obj)
    if lost > 0:
        _add_references(obj, lost)  # give back what the probe itself cost
    return lost / _PROBE_CALLS


def probe() -> dict[str, float]:
    """References lost per call: None per void Qt method call, True per Signal emit."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    target = _Probe()
    try:
        return {
            "None": _leak_per_call(None, lambda: target.setObjectName("probe")),
            "True": _leak_per_call(True, target.ping.emit),
        }
    finally:
        target.deleteLater()


def install() -> bool:
    """Protect None/True/False if this PySide6 needs it; True when the guard is active."""
    global _installed
    if _installed:
        return True
    if platform.python_implementation() != "CPython" or sys.version_info >= (3, 12):
        return False  # singletons are immortal there; the defect is harmless
    leaks = probe()
    if max(leaks.values()) < 0.5:
        return False
    for singleton in (None, True, False):
        _add_references(singleton, _HEADROOM)
    _installed = True
    import PySide6

    log.warning("PySide6 %s drops references to None/True (%s per call); guarded against "
                "a crash. Install a PySide6 other than 6.12.0.", PySide6.__version__, leaks)
    return True
