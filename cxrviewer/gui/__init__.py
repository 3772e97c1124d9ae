"""The Qt side of cxrviewer: widgets, the main window, the workers' Qt adapters.

pyqtgraph is imported here, once, without the parts of its import the viewer never
uses (see pyqtgraph_import.py).
"""

from __future__ import annotations

from .pyqtgraph_import import import_pyqtgraph

import_pyqtgraph()
