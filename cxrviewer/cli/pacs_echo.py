"""`cxr pacs echo`: does the node answer, and take our credentials or AE title? Exit 0 yes, 2 no."""

from __future__ import annotations

import argparse
import time

from cxrviewer.pacs.errors import PacsError

from .pacs import EXIT_OK, EXIT_USAGE, client_from_args, complain


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser  # the node arguments are all it takes


def run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    try:
        client = client_from_args(args)
        client.echo()
    except PacsError as exc:
        complain("echo", exc)
        return EXIT_USAGE
    print(f"{client.name}: answered in {(time.perf_counter() - start) * 1e3:.0f} ms", flush=True)
    return EXIT_OK
