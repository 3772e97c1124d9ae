"""`cxr`: the command-line entry point. Subcommands live in their own modules.

Each subcommand module exposes ``add_arguments(parser)`` and ``run(args) -> int``.
Modules are imported only when their subcommand runs, so `cxr info` never pays
for importing torch.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from cxrviewer.log_setup import configure_logging
from cxrviewer.malloc_tuning import tune_malloc

# name -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "info": ("cxrviewer.cli.info", "describe image files (DICOM, PNG, JPEG) or folders"),
    "train": ("training.train", "train or fine-tune a model on an ImageFolder or CSV data set"),
    "evaluate": ("training.evaluate", "evaluate a model directory on a data set"),
    "adapt": ("training.adapt.cli", "adapt a model to this site with a few hundred labelled local images"),
    "train-lungs": ("training.lungs.train", "train the lung-field segmenter on images with lung masks"),
    "predict": ("cxrviewer.cli.predict", "run the model on images"),
    "pacs": ("cxrviewer.cli.pacs", "find studies on a PACS, read their images, send the results back"),
    "listen": ("cxrviewer.cli.listen", "receive chest radiographs over DICOM (C-STORE), read each, keep a worklist"),
}

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CRASHED = 0, 1, 2, 3


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    from cxrviewer import __version__

    parser = argparse.ArgumentParser(
        prog="cxr",
        description="cxrviewer command line (research use only, not for diagnosis)",
    )
    parser.add_argument("--version", action="version", version=f"cxr {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    wanted = next((a for a in argv if a in SUBCOMMANDS), None)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == wanted:
            module = _import_subcommand(module_name)
            if module is not None:
                module.add_arguments(p)
                p.set_defaults(_module=module)
    return parser


def _import_subcommand(module_name: str):
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            return None  # subcommand not built yet
        raise


def main(argv: list[str] | None = None) -> int:
    tune_malloc()  # before any large array: see cxrviewer/malloc_tuning.py
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    # parse_known_args first: a subcommand missing from this build (the bundle
    # ships no training/) must be named as such, not as "unrecognized arguments".
    args, unknown = parser.parse_known_args(argv)
    if getattr(args, "_module", None) is None:
        parser.error(f"'{args.command}' is not available in this build")
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    configure_logging(args.verbose)  # libraries' messages (paths, header values) only with -v
    _printable_streams()
    module = args._module
    try:
        return int(module.run(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - exit 3 says "the run itself failed", apart from 1 and 2
        logging.getLogger("cxrviewer.cli").debug("the run failed", exc_info=True)
        print(f"cxr {args.command}: the run failed ({type(exc).__name__}); run again with -v for details",
              file=sys.stderr)
        return EXIT_CRASHED


def _printable_streams() -> None:
    """File names that are not valid UTF-8 (or not encodable here) print escaped instead of crashing."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):
                pass


if __name__ == "__main__":
    sys.exit(main())
