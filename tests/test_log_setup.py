"""Logging: our own messages on stderr; libraries' messages (paths, header values) only with -v."""

from __future__ import annotations

import subprocess
import sys


def test_library_messages_stay_off_stderr_unless_verbose():
    """A library warning quotes what it is given (here a made-up patient name): it reaches
    stderr only with -v."""
    script = ("import warnings, logging, sys\n"
              "from cxrviewer.log_setup import configure_logging\n"
              "configure_logging(int(sys.argv[1]))\n"
              "warnings.warn('DOE^JANE in /data/DOE^JANE/1.dcm')\n"
              "logging.getLogger('pydicom').warning('DOE^JANE value')\n"
              "logging.getLogger('cxrviewer.io').warning('our own message')\n")
    quiet = subprocess.run([sys.executable, "-c", script, "0"], capture_output=True, text=True, timeout=60)
    loud = subprocess.run([sys.executable, "-c", script, "1"], capture_output=True, text=True, timeout=60)
    assert "our own message" in quiet.stderr and "DOE^JANE" not in quiet.stderr
    assert "/data/DOE^JANE" in loud.stderr and "DOE^JANE value" in loud.stderr
