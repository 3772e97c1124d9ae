"""cxrviewer: a desktop chest X-ray viewer with an AI second reader.

Research tool only; not a diagnostic device.
"""

__version__ = "0.1.0"
