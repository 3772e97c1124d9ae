"""The Qt side of cxrviewer: widgets, the main window, the workers' Qt adapters.

pyqtgraph's RawImageWidget probes for NVIDIA's ``cuda.bindings`` at import, to draw
GPU arrays; where a CUDA build of torch has installed that package, the probe costs
about 0.1 s of the viewer's start-up, and the viewer never draws GPU arrays. The
probe is answered "absent" while pyqtgraph is first imported, and only then, so
torch can still import the package later.
"""

from __future__ import annotations

import sys


def _import_pyqtgraph_without_the_cuda_probe() -> None:
    probed = "cuda.bindings.runtime"
    blocked = probed not in sys.modules
    if blocked:
        sys.modules[probed] = None  # `from cuda.bindings import runtime` raises ImportError
    try:
        import pyqtgraph  # noqa: F401
    finally:
        if blocked and sys.modules.get(probed, ...) is None:
            del sys.modules[probed]


_import_pyqtgraph_without_the_cuda_probe()
