"""`cxr evaluate`: clinical metrics of a model directory on a labelled data set.

    cxr evaluate --model DIR --data CSV_OR_DIR [--split test] [--json OUT] [--report-dir DIR]

Data: a CSV with ``path,label`` (more columns allowed; paths relative to the
CSV's folder) or an ImageFolder tree ``root/<class>/*`` or
``root/<split>/<class>/*`` (split folders train, val, test), read exactly as
``cxr train`` reads it (training.data). With a split column (or split folders)
only the rows of ``--split`` are used (``--split all`` uses every row).
Extra CSV columns with at most 20 distinct values (source, age_group, ...; not
path/label/split/group) get the same metrics per value under "breakdown".

Metrics are computed over every image that loaded; images the model flags as
out-of-distribution are kept in the metrics and counted in ``ood_fraction``.
Metric conventions (undefined values as null, ECE bins) are in training.metrics.

Exit codes: (the same contract as cxr info and cxr predict)
  0  every listed file was evaluated
  1  some files failed: the metrics cover the others and are written as usual;
     each failed file is listed with its reason ("failed" in the JSON, else on
     stderr); also when nothing could be evaluated or the outputs could not be
     written
  2  unusable input: model directory, data path or manifest, labels the model
     does not know, an empty split, bad options, an output folder that cannot
     be written (checked before any work)
  3  the run itself failed (a bug: run again with -v for details)
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import logging
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cxrviewer.atomic_files import folder_problem
from cxrviewer.log_setup import configure_logging
from training import metrics, report

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CRASHED = 0, 1, 2, 3
NOT_BREAKDOWN_COLUMNS = frozenset({"path", "label", "split", "group"})
MAX_BREAKDOWN_VALUES = 20
BLANK_VALUE = "(blank)"


class EvaluationInputError(Exception):
    """An input that cannot be evaluated; the message says why and what to do (exit 2)."""


@dataclass(frozen=True)
class Item:
    path: Path  # absolute
    relpath: str  # as written in the manifest, shown in "failed"
    label: str
    extras: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Manifest:
    items: list[Item]
    split: str | None  # None: the data has no split, every row was used
    extra_columns: tuple[str, ...]
    manifest_sha256: str | None = None  # training.data's digest: CSV bytes, or the folder listing


# ---------------------------------------------------------------- manifest
# Rows come from training.data's readers, so `cxr train` and `cxr evaluate` read
# a manifest the same way (paths, split names, class folders, manifest hash).
# Evaluation differs only in what it tolerates: a missing or unreadable file is
# counted under "failed" instead of stopping the run.

def read_manifest(data: Path, split: str) -> Manifest:
    from training.data import DataError, read_csv_manifest, read_image_folder

    if not data.exists():
        raise EvaluationInputError(f"data not found: {data}")
    root = data if data.is_dir() else data.parent
    try:
        samples, digest = read_image_folder(data) if data.is_dir() else read_csv_manifest(data)
    except DataError as exc:
        raise EvaluationInputError(str(exc)) from exc
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise EvaluationInputError(f"{data.name}: cannot be read as a CSV ({exc})") from exc
    _check_rows(data, root, samples)
    used_split = None
    if split.lower() != "all" and any(s.split for s in samples):
        samples, used_split = _filter_split(data.name, samples, split.lower()), split.lower()
    extras = tuple(samples[0].extras)  # CSV column order; empty for folders
    items = [Item(s.path, _relpath(s.path, root), s.label, {k: v.strip() for k, v in s.extras.items()})
             for s in samples]
    return Manifest(items, used_split, extras, digest)


def _check_rows(data: Path, root: Path, samples) -> None:
    if not samples:
        raise EvaluationInputError(
            f"{data.name}: no images listed (a CSV needs rows; a folder needs root/<class>/* "
            "or root/<split>/<class>/*)")
    # An empty path cell resolves to the CSV's own folder.
    blank = [s.row for s in samples if not s.label or s.path == root]
    if blank:
        shown = ", ".join(map(str, blank[:10])) + (" ..." if len(blank) > 10 else "")
        raise EvaluationInputError(f"{data.name}: empty path or label on line(s) {shown}")


def _filter_split(name: str, samples, split: str) -> list:
    kept = [s for s in samples if s.split == split]  # training.data lower-cases split names
    if not kept:
        present = sorted({s.split or "(blank)" for s in samples})
        raise EvaluationInputError(
            f"{name}: no rows with split {split!r}; splits present: {', '.join(present)} (or --split all)")
    return kept


def _relpath(path: Path, root: Path) -> str:
    """The path as the manifest means it (relative to the CSV or folder), for the 'failed' list."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:  # an absolute path in the CSV
        return path.as_posix()


def breakdown_columns(manifest: Manifest) -> list[str]:
    """Extra columns with at most MAX_BREAKDOWN_VALUES distinct values (source, age_group, ...)."""
    chosen = []
    for column in manifest.extra_columns:
        if column.lower() in NOT_BREAKDOWN_COLUMNS:
            continue
        if len({item.extras[column] for item in manifest.items}) <= MAX_BREAKDOWN_VALUES:
            chosen.append(column)
    return chosen


# ---------------------------------------------------------------- labels

def _label_key(name: str, letters_only: bool) -> str:
    kept = r"[^a-z]" if letters_only else r"[^a-z0-9]"
    return re.sub(kept, "", name.casefold())


def map_labels(data_labels: Sequence[str], model_labels: Sequence[str]) -> dict[str, str]:
    """Data label -> model label. Exact, else an unambiguous match ignoring case,
    punctuation and then digits ("COVID-19" -> "covid"); raise listing the rest."""
    mapping, unknown = {}, []
    for name in sorted(set(data_labels)):
        match = name if name in model_labels else _obvious_match(name, model_labels)
        if match is None:
            unknown.append(name)
        else:
            mapping[name] = match
    if unknown:
        raise EvaluationInputError(
            f"labels the model does not know: {', '.join(unknown)}; "
            f"the model's labels are: {', '.join(model_labels)}")
    return mapping


def _obvious_match(name: str, model_labels: Sequence[str]) -> str | None:
    for letters_only in (False, True):
        key = _label_key(name, letters_only)
        hits = [m for m in model_labels if _label_key(m, letters_only) == key]
        if key and len(hits) == 1:
            return hits[0]
    return None


# ---------------------------------------------------------------- prediction

@dataclass
class PredictionRun:
    items: list[Item] = field(default_factory=list)  # those that were predicted, in order
    probabilities: list[list[float]] = field(default_factory=list)
    ood_flags: list[bool] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)


def load_predictor(model_dir: Path, device: str):
    """The Predictor for ``model_dir`` (a separate function so tests can substitute one)."""
    from cxrviewer.model.predictor import Predictor

    return Predictor.from_dir(model_dir, device=device)


def predict_items(predictor, items: Sequence[Item], batch_size: int) -> PredictionRun:
    from tqdm import tqdm

    run = PredictionRun()
    # disable=None: a bar on a terminal, silence when piped or under test.
    with tqdm(total=len(items), unit="img", desc="evaluating", disable=None, file=sys.stderr) as bar:
        for start in range(0, len(items), batch_size):
            batch = items[start:start + batch_size]
            _predict_batch(predictor, batch, run)
            bar.update(len(batch))
    return run


def _predict_batch(predictor, batch: Sequence[Item], run: PredictionRun) -> None:
    from cxrviewer.io import ImageLoadError
    from cxrviewer.io.sandbox import load_image_isolated as load_image

    loaded = []
    for item in batch:
        try:
            loaded.append((item, load_image(item.path)))
        except ImageLoadError as exc:
            run.failed.append({"path": item.relpath, "reason": str(exc)})
        except Exception as exc:  # noqa: BLE001 - a loader bug on one file must not end a long run
            log.debug("unexpected error loading a file", exc_info=True)
            run.failed.append({"path": item.relpath, "reason": f"unexpected error ({type(exc).__name__}: {exc})"})
    if not loaded:
        return
    try:
        predictions = predictor.predict([image for _, image in loaded])
    except Exception:  # noqa: BLE001 - isolate the image that breaks the model, keep the rest
        log.debug("batch prediction failed; retrying image by image", exc_info=True)
        predictions = [_predict_one(predictor, item, image, run) for item, image in loaded]
    for (item, _), prediction in zip(loaded, predictions):
        if prediction is not None:
            _record(run, item, prediction, predictor.labels)


def _record(run: PredictionRun, item: Item, prediction, label_names: Sequence[str]) -> None:
    probabilities = [float(prediction.probabilities[name]) for name in label_names]
    if not all(np.isfinite(probabilities)):  # a diverged model: say so instead of crashing the metrics
        run.failed.append({"path": item.relpath, "reason": "model returned non-finite probabilities"})
        return
    run.items.append(item)
    run.probabilities.append(probabilities)
    run.ood_flags.append(bool(prediction.ood_flag))


def _predict_one(predictor, item: Item, image, run: PredictionRun):
    try:
        return predictor.predict([image])[0]
    except Exception as exc:  # noqa: BLE001 - one bad image must not end the evaluation
        run.failed.append({"path": item.relpath, "reason": f"model could not process it ({exc})"})
        return None


# ---------------------------------------------------------------- results

def data_sha256(items: Sequence[Item]) -> str:
    """One hash over every evaluated row: its path, label and the file's bytes (in manifest order)."""
    digest = hashlib.sha256()
    for item in items:
        digest.update(f"{item.relpath}\0{item.label}\0".encode())
        try:
            digest.update(hashlib.sha256(item.path.read_bytes()).digest())
        except OSError:
            digest.update(b"unreadable")
    return digest.hexdigest()


def build_results(run: PredictionRun, label_names: Sequence[str], mapping: Mapping[str, str],
                  columns: Sequence[str], meta: dict) -> tuple[dict, np.ndarray, np.ndarray]:
    """The JSON document, plus the label and probability arrays the report draws from."""
    index = {name: k for k, name in enumerate(label_names)}
    labels = np.array([index[mapping[item.label]] for item in run.items], dtype=np.int64)
    probs = np.array(run.probabilities, dtype=np.float64).reshape(len(run.items), len(label_names))
    summary = metrics.classification_metrics(labels, probs, label_names)
    groups = {c: [item.extras[c] or BLANK_VALUE for item in run.items] for c in columns}
    results = {
        "n": summary["n"],
        "accuracy": summary["accuracy"],
        "macro_f1": summary["macro_f1"],
        "macro_auc": summary["macro_auc"],
        "ece": summary["ece"],
        "ood_fraction": float(np.mean(run.ood_flags)) if run.ood_flags else None,
        "per_class": summary["per_class"],
        "confusion_matrix": summary["confusion_matrix"],
        "failed": run.failed,
        "breakdown": metrics.subgroup_metrics(labels, probs, label_names, groups, run.ood_flags),
        "meta": meta,
    }
    return results, labels, probs


def model_meta(predictor, model_dir: Path) -> dict:
    config = predictor.config
    files = dict(getattr(config, "files", {}) or {})
    training = dict(getattr(config, "training", {}) or {})
    weights_sha = next((sha for name, sha in sorted(files.items()) if name.endswith(".safetensors")), None)
    return {
        "model_name": model_dir.resolve().name,
        "model_architecture": getattr(config, "architecture", None),
        # A trained model may record a version; otherwise the weights' hash identifies it.
        "model_version": training.get("version") or (weights_sha[:12] if weights_sha else None),
        "model_labels": list(predictor.labels),
        "device": str(getattr(predictor, "device", "")),
    }


def data_meta(data: Path, manifest: Manifest) -> dict:
    return {
        "data": data.name,  # the name only: folder paths can carry patient or site names
        "split": manifest.split,
        "data_sha256": data_sha256(manifest.items),
        "manifest_sha256": manifest.manifest_sha256,
    }


def tool_meta() -> dict:
    from datetime import datetime, timezone

    from cxrviewer import __version__

    return {
        "cxrviewer_version": __version__,
        "evaluated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "ece_bins": metrics.ECE_BINS,
        "statement": "research tool, not for diagnosis",
    }


# ---------------------------------------------------------------- CLI

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = "exit codes:" + __doc__.split("Exit codes:", 1)[1]
    parser.add_argument("--model", type=Path, default=None, metavar="DIR",
                        help="model directory (default: the bundled model)")
    parser.add_argument("--data", type=Path, required=True, metavar="CSV_OR_DIR",
                        help="CSV with path,label[,split,...] or an ImageFolder root")
    parser.add_argument("--split", default="test",
                        help="rows of this split when the data has one (default: test; 'all': every row)")
    parser.add_argument("--json", type=Path, default=None, metavar="OUT", help="write the metrics JSON here")
    parser.add_argument("--report-dir", type=Path, default=None, metavar="DIR",
                        help="write PNG plots and summary.md into this folder")
    parser.add_argument("--batch-size", type=int, default=16, metavar="N", help="images per model batch (default 16)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps (default auto)")
    parser.add_argument("--cam-quality", action="store_true",
                        help="also measure the heat maps against drawn masks: the data CSV needs a lung_mask "
                             "column (optional infection_mask); adds cam_in_lungs and the pointing game per "
                             "CAM method under 'cam_quality'")


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except EvaluationInputError as exc:
        print(f"cxr evaluate: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _run(args: argparse.Namespace) -> int:
    _check_options(args)
    manifest = read_manifest(args.data, args.split)
    model_dir = _model_dir(args.model)
    predictor = _load_predictor(model_dir, args.device)
    mapping = map_labels([item.label for item in manifest.items], predictor.labels)
    _log_mapping(mapping)
    columns = breakdown_columns(manifest)
    run_ = predict_items(predictor, manifest.items, args.batch_size)
    meta = {**model_meta(predictor, model_dir), **data_meta(args.data, manifest),
            "label_mapping": mapping, "breakdown_columns": columns, **tool_meta()}
    results, labels, probs = build_results(run_, predictor.labels, mapping, columns, meta)
    if getattr(args, "cam_quality", False):
        results["cam_quality"] = _cam_quality(args, model_dir)
    print(report.text_summary(results))
    if args.json is None:
        _print_failures(results["failed"])
    if not _write_outputs(args, results, labels, probs, predictor.labels):
        return EXIT_FAILED
    return _exit_code(results, len(manifest.items))


def _cam_quality(args: argparse.Namespace, model_dir: Path) -> dict:
    from cxrviewer.inference.engine import InferenceEngine

    from .cam_quality import MaskManifestError, cam_quality, read_mask_manifest

    try:
        items = read_mask_manifest(args.data, args.split)
    except MaskManifestError as exc:
        raise EvaluationInputError(f"--cam-quality: {exc}") from exc
    try:
        engine = InferenceEngine.load(model_dir, device=args.device)
    except Exception as exc:  # noqa: BLE001 - the model loaded for metrics; anything else is --model's fault
        raise EvaluationInputError(f"cannot load the model in {model_dir} for --cam-quality: {exc}") from exc
    quality = cam_quality(engine, items)
    for method, row in quality["methods"].items():
        pointing = "n/a" if row["pointing_game"] is None else f"{row['pointing_game']:.3f} (n={row['pointing_n']})"
        print(f"{method}: map in lungs {row['cam_in_lungs']:.3f}, pointing game {pointing}")
    return quality


def _check_options(args: argparse.Namespace) -> None:
    if getattr(args, "cam_quality", False) and (args.data.is_dir() or args.data.suffix.lower() != ".csv"):
        raise EvaluationInputError("--cam-quality needs a CSV with a lung_mask column as --data")
    if args.batch_size < 1:
        raise EvaluationInputError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.report_dir is not None and not report.matplotlib_available():
        raise EvaluationInputError("--report-dir needs matplotlib: pip install 'cxrviewer[train]'")
    # Checked now, not after a long run: an output that cannot be written.
    if args.json is not None and args.json.is_dir():
        raise EvaluationInputError(f"--json {args.json} is a folder; give a file name")
    for folder in (args.json.parent if args.json else None, args.report_dir):
        if folder is not None and folder.exists() and not folder.is_dir():
            raise EvaluationInputError(f"{folder} exists and is not a folder")
        problem = folder_problem(folder, create=False) if folder is not None else ""
        if problem:
            raise EvaluationInputError(problem)


def _model_dir(model: Path | None) -> Path:
    if model is None:
        from cxrviewer.resources import bundled_model_dir

        model = bundled_model_dir()
        if not model.is_dir():
            raise EvaluationInputError(f"no bundled model at {model}; pass --model DIR")
    if not model.is_dir():
        raise EvaluationInputError(f"model directory not found: {model}")
    return model


def _load_predictor(model_dir: Path, device: str):
    try:
        return load_predictor(model_dir, device)
    except ModuleNotFoundError as exc:
        raise EvaluationInputError(f"model support is not installed ({exc})") from exc
    except Exception as exc:  # noqa: BLE001 - every loader failure is an unusable --model
        raise EvaluationInputError(f"cannot load the model in {model_dir}: {exc}") from exc


def _log_mapping(mapping: Mapping[str, str]) -> None:
    for data_label, model_label in sorted(mapping.items()):
        if data_label != model_label:
            log.warning("data label %r evaluated as the model's %r", data_label, model_label)


def _write_outputs(args, results: dict, labels, probs, label_names) -> bool:
    try:
        if args.json is not None:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            text = json.dumps(results, indent=2, allow_nan=False) + "\n"
            report.write_atomic(args.json, text.encode("utf-8"))
        if args.report_dir is not None:
            report.write_report(args.report_dir, results, labels, probs, label_names)
    except OSError as exc:
        print(f"cxr evaluate: error: cannot write the results ({exc})", file=sys.stderr)
        return False
    return True


def _exit_code(results: dict, total: int) -> int:
    failed = len(results["failed"])
    if results["n"] == 0:
        print(f"cxr evaluate: error: none of the {total} images could be evaluated", file=sys.stderr)
        return EXIT_FAILED
    if failed:
        print(f"cxr evaluate: {failed} of {total} files could not be evaluated and "
              "were left out (listed under 'failed')", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _print_failures(failed: Sequence[dict]) -> None:
    """Without --json the failures have nowhere else to go: list them on stderr."""
    for entry in failed:
        print(f"failed: {entry['path']}: {entry['reason']}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    add_arguments(parser)
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    try:
        return run(args)
    except Exception as exc:  # noqa: BLE001 - exit 3 is "the run itself failed", apart from 1 and 2
        log.debug("the run failed", exc_info=True)  # a traceback may quote paths: only with -v
        print(f"cxr evaluate: the run failed ({type(exc).__name__}); run again with -v for details", file=sys.stderr)
        return EXIT_CRASHED


if __name__ == "__main__":
    sys.exit(main())
