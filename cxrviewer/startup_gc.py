"""No cyclic garbage collection while the program starts; what start-up built is then frozen.

Importing Qt, pyqtgraph, numpy and the viewer's own modules and building the window
create some 95,000 long-lived objects (modules, classes, functions, widgets' wrappers)
and hardly any garbage, yet the allocation count sets off about 140 collections on the
way, each walking the young objects and some walking all of them: about 45 ms of the
viewer's 0.42 s of imports. Collection is paused from the first line of the entry point
until the window's first paint; then ``gc.freeze()`` moves everything start-up made to
the permanent generation, so the collections that follow, while the reader works, no
longer walk objects that live as long as the process (a full collection of them took
28 ms on the UI thread). `benchmarks/bench_startup.py` measures the window shown with
it; CXR_STARTUP_GC=1 gives the figure without.

Reference counting frees ordinary garbage all along; only reference cycles wait, and
start-up makes few: a full collection after the first paint finds about 450 objects,
which are frozen with the rest rather than paying that collection on the UI thread.

Environment: CXR_STARTUP_GC=1 keeps the collector on throughout (for comparison).
"""

from __future__ import annotations

import gc
import os

ENV_SWITCH = "CXR_STARTUP_GC"

_paused = False


def pause_collection() -> bool:
    """Stop cyclic collection until :func:`resume_collection`; False when switched off or already off."""
    global _paused
    if os.environ.get(ENV_SWITCH) == "1" or not gc.isenabled():
        return False
    gc.disable()
    _paused = True
    return True


def resume_collection() -> None:
    """Freeze what start-up built and collect again as usual (once; later calls do nothing)."""
    global _paused
    if not _paused:
        return
    _paused = False
    gc.freeze()
    gc.enable()
