"""`python -m cxrviewer` opens the viewer (same as the `cxrviewer` command)."""

import sys

from cxrviewer.gui.app import main

if __name__ == "__main__":  # not when a spawned child process imports it
    sys.exit(main())
