"""The command that reproduces a run, rebuilt from its parsed arguments (for cards and provenance)."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Sequence


def reproducing_command(words: Sequence[str], parser: argparse.ArgumentParser, args: argparse.Namespace,
                        skip: Sequence[str] = ()) -> str:
    """``words`` plus every option whose value differs from its default.

    Rebuilt from the parsed arguments rather than sys.argv, so it is right however
    the run was started (cxr, python -m, torchrun, a test).
    """
    out = list(words)
    for action in parser._actions:
        if not action.option_strings or action.dest in skip or not hasattr(args, action.dest):
            continue
        value = getattr(args, action.dest)
        if value == action.default:
            continue
        flag = max(action.option_strings, key=len)
        out += [flag] if action.nargs == 0 else [flag, str(value)]
    return shlex.join(out)
