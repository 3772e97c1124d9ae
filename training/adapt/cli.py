"""`cxr adapt`: adapt a model directory to a site with a few hundred labelled local images.

    cxr adapt --data CSV_OR_DIR --out DIR [--model DIR] [--device auto]

Data: a CSV with ``path,label`` (optional ``split``, ``group`` = patient, more
columns reported per value; paths relative to the CSV) or an ImageFolder
``root/<class>/*``. Rows with split ``test`` are set aside. Site labels must be
the model's labels, obvious spellings of them ("COVID-19" for "covid") or mapped
with ``--label-map SITE=MODEL,...``; a site may lack some of the model's classes.

The site images are split into grouped folds; every candidate method
(recalibration, a linear head, fine-tuning the last block group and the head) is measured out of
fold, the best is refitted on all site images and written to OUT as a model
directory for the viewer, `cxr predict` and `cxr evaluate`, with OUT/adaptation.json
and a MODEL_CARD.md holding the before/after numbers.

Exit codes:
  0  the adapted model was written
  1  the run failed (see the message); --resume continues where it stopped
  2  unusable input: data, labels, model directory, options or --out
  130  cancelled (Ctrl-C or SIGTERM); nothing half-written, --resume continues
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time
from pathlib import Path

from cxrviewer.atomic_files import folder_problem
from cxrviewer.log_setup import configure_logging
from .options import FINETUNE_STARTS, METHODS, AdaptOptions

log = logging.getLogger("training.adapt")

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 130


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = AdaptOptions
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = "exit codes:" + __doc__.split("Exit codes:", 1)[1]
    parser.add_argument("--data", type=Path, required=True, metavar="CSV_OR_DIR", help="the site's labelled images")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="new model directory to write")
    parser.add_argument("--model", type=Path, default=None, metavar="DIR", help="base model (default: the bundled one)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps (default auto)")
    parser.add_argument("--label-map", default=None, metavar="SITE=MODEL,...", help="map site labels to model labels")
    parser.add_argument("--methods", default=None, help=f"candidates to compare (default {','.join(METHODS)})")
    parser.add_argument("--folds", type=int, default=None, help=f"grouped cross-validation folds (default {d.folds})")
    parser.add_argument("--views", type=int, default=None, help=f"cached views per image, 1 plain + augmented (default {d.views})")
    parser.add_argument("--epochs", type=int, default=None, help=f"fine-tuning epochs (default {d.epochs})")
    parser.add_argument("--max-steps", type=int, default=None,
                        help=f"fewer epochs when --epochs would take more fine-tuning steps (default {d.max_steps})")
    parser.add_argument("--batch-size", type=int, default=None, help=f"default {d.batch_size}")
    parser.add_argument("--lr", type=float, default=None, help=f"fine-tuning learning rate (default {d.lr})")
    parser.add_argument("--l2sp", type=float, default=None, help=f"pull toward the base weights (default {d.l2sp})")
    parser.add_argument("--finetune-start", choices=FINETUNE_STARTS, default=None,
                        help=f"fine-tune from the base head or from the linear candidate's (LP-FT; default {d.finetune_start})")
    parser.add_argument("--source-data", type=Path, default=None, metavar="CSV_OR_DIR",
                        help="the base model's training data: some of it is mixed in so its classes are not forgotten")
    parser.add_argument("--source-per-class", type=int, default=None,
                        help=f"source images drawn per class (default {d.source_per_class})")
    parser.add_argument("--source-views", type=int, default=None,
                        help=f"cached views per source image (default {d.source_views})")
    parser.add_argument("--source-per-epoch", type=int, default=None,
                        help=f"source images mixed into each fine-tuning epoch, a fresh subset each time "
                             f"(default {d.source_per_epoch})")
    parser.add_argument("--bootstrap", type=int, default=None, help=f"bootstrap repeats for intervals (default {d.bootstrap})")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    parser.add_argument("--keep-work", action="store_true", help="keep OUT/.adapt-work (feature caches) afterwards")
    parser.add_argument("--check", action="store_true",
                        help="only check the data and labels (no model run) and print what was found")
    parser.add_argument("--progress", choices=("text", "json"), default="text",
                        help="progress on stderr as text, or JSON lines on stdout (for the viewer)")


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cxr adapt", description=__doc__.splitlines()[0], add_help=add_help)
    add_arguments(parser)
    return parser


# Share of a typical run's time per phase (2 CPU cores, 300 images with --source-data; cross-validated
# fine-tuning took 337 s of 529 on 2026-12-08, adaptation.json's candidate seconds), for one overall
# "time left".
PHASE_WEIGHTS = (("reading images", 0.04), ("computing features", 0.12), ("cross-validating recalibrate", 0.005),
                 ("cross-validating linear", 0.02), ("cross-validating finetune", 0.60),
                 ("fitting the final model", 0.19), ("measuring what was kept of the base model's data", 0.015),
                 ("writing the model", 0.01))


def overall_fraction(phase: str, fraction: float) -> float | None:
    """Fraction of the whole run done when ``phase`` is ``fraction`` done (None: phase not in the plan)."""
    before = 0.0
    for name, weight in PHASE_WEIGHTS:
        if phase == name:
            return before + weight * min(max(fraction, 0.0), 1.0)
        before += weight
    return 1.0 if phase == "done" else None


class ProgressPrinter:
    """Phase, fraction done and time left, at most once a second (text) or every event (JSON lines)."""

    def __init__(self, as_json: bool, stream=None) -> None:
        self.as_json = as_json
        self.stream = stream or (sys.stdout if as_json else sys.stderr)
        self.started, self.last, self.overall = time.monotonic(), 0.0, 0.0

    def __call__(self, phase: str, done: float, total: float, **details) -> None:
        now = time.monotonic()
        fraction = done / total if total else 1.0
        overall = overall_fraction(phase, fraction)
        self.overall = max(self.overall, overall) if overall is not None else self.overall  # never goes back
        elapsed = now - self.started
        eta = elapsed * (1 - self.overall) / self.overall if 0.02 < self.overall < 1 and elapsed > 2 else None
        if self.as_json:
            event = {"event": "progress", "phase": phase, "fraction": round(fraction, 4),
                     "overall": round(self.overall, 4), "eta_s": None if eta is None else round(eta, 1),
                     **_plain(details)}
            self.emit(event)
            return
        if now - self.last < 1.0 and 0 < fraction < 1:
            return
        self.last = now
        extra = "".join(f", {k} {v:.4f}" if isinstance(v, float) else f", {k} {v}" for k, v in details.items())
        left = f", about {_duration(eta)} left" if eta is not None else ""
        print(f"[{100 * self.overall:3.0f}%] {phase} {100 * fraction:.0f}%{extra}{left}", file=self.stream, flush=True)

    def emit(self, event: dict) -> None:
        print(json.dumps(event, allow_nan=False), file=self.stream, flush=True)


def _plain(details: dict) -> dict:
    return {k: (round(v, 5) if isinstance(v, float) else v) for k, v in details.items()}


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def command_line(args: argparse.Namespace) -> str:
    """The `cxr adapt` command that reproduces this run (progress and resume change nothing)."""
    from ..command_record import reproducing_command

    return reproducing_command(["cxr", "adapt"], get_args_parser(add_help=False), args, skip=("progress", "resume"))


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    from ..data import DataError
    from .options import options_from_args
    from .pipeline import AdaptError, run_adaptation

    printer = ProgressPrinter(args.progress == "json")
    if args.check:
        return _check(args, printer)
    problem = folder_problem(args.out, create=False)  # now, not after minutes of adaptation
    if problem:
        return _fail(printer, f"--out {problem}", EXIT_USAGE)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)  # the viewer's Cancel sends SIGTERM
    try:
        options = options_from_args(args, _bundled_model())
        result = run_adaptation(options, command_line(args), printer)
    except (AdaptError, DataError, ValueError) as exc:
        return _fail(printer, f"{exc}", EXIT_USAGE)
    except KeyboardInterrupt:
        return _fail(printer, f"cancelled; no model was written. Continue with --resume --out {args.out}",
                     EXIT_CANCELLED)
    except OSError as exc:
        return _fail(printer, f"cannot read or write a file: {exc}", EXIT_FAILED)
    finally:
        signal.signal(signal.SIGTERM, previous)
    _report(printer, result)
    return EXIT_OK


def _check(args: argparse.Namespace, printer: ProgressPrinter) -> int:
    from .options import parse_label_map
    from .site_data import describe_site

    try:
        label_map = parse_label_map(args.label_map)
    except ValueError as exc:
        return _fail(printer, str(exc), EXIT_USAGE)
    found = describe_site(args.data, args.model or _bundled_model(), label_map, args.folds or AdaptOptions.folds)
    if printer.as_json:
        printer.emit({"event": "data", **found})
    elif found["ok"]:
        counts = ", ".join(f"{k} {v}" for k, v in found["counts"].items())
        print(f"{found['images']} site images in {found['groups']} groups: {counts}", file=sys.stderr)
    if not found["ok"]:
        print(f"cxr adapt: error: {found['problems']}", file=sys.stderr)
    return EXIT_OK if found["ok"] else EXIT_USAGE


def _fail(printer: ProgressPrinter, message: str, code: int) -> int:
    if printer.as_json:
        printer.emit({"event": "error", "message": message, "exit_code": code})
    print(f"cxr adapt: {'error: ' if code != EXIT_CANCELLED else ''}{message}", file=sys.stderr)
    return code


def _report(printer: ProgressPrinter, result) -> None:
    record = result.record
    headline = {k: {"before": record["before"][k], "after": record["after"][k], "after_95ci": record["intervals"]["after"][k]}
                for k in ("macro_f1", "macro_auc", "ece")}
    if printer.as_json:
        printer.emit({"event": "done", "model_dir": str(result.model_dir), "method": result.method,
                      "headline": headline, "warnings": record["warnings"]})
    print(f"adapted model written to {result.model_dir} (method: {result.method})", file=sys.stderr)
    for key, row in headline.items():
        ci = row["after_95ci"]
        span = f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""
        print(f"  {key}: {_num(row['before'])} -> {_num(row['after'])}{span} (held-out site images)", file=sys.stderr)
    for warning in record["warnings"]:
        print(f"  warning: {warning}", file=sys.stderr)


def _num(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _bundled_model() -> Path:
    from cxrviewer.resources import bundled_model_dir

    return bundled_model_dir()


def main(argv: list[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    configure_logging(level=logging.INFO)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
