"""`python -m cxrviewer` opens the viewer (same as the `cxrviewer` command)."""

import sys

from cxrviewer.gui.app import main

sys.exit(main())
