"""Frozen entry point of both bundle executables (build.spec builds `cxrviewer` and `cxr` from it).

One script, one analysis: the executable's own name picks the real main, so the
GUI and the command line share every collected module. `--smoke-test` and
`--startup-probe` go to cxrviewer.smoke from either executable; the app's own
entry points stay untouched.
"""

import multiprocessing
import sys
from pathlib import Path

SMOKE_FLAGS = ("--smoke-test", "--startup-probe")


def main() -> int:
    args = sys.argv[1:]
    if args and args[0] in SMOKE_FLAGS:
        from cxrviewer.smoke import main as smoke_main

        return smoke_main(args)
    if Path(sys.executable).stem.lower() == "cxr":
        from cxrviewer.cli.main import main as cli_main

        return cli_main(args)
    from cxrviewer.gui.app import main as gui_main

    return gui_main(args)


if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen child process must not rerun main()
    sys.exit(main())
