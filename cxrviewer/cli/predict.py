"""`cxr predict PATH...`: the model's reading of images, one line per image.

Folders are walked (cxrviewer.io.iter_image_files). With ``--json`` each line is
one JSON object with exactly the keys in ``JSON_KEYS``:

    path, ok, probabilities (label -> probability), label, confidence, uncertain,
    ood {flag, score}, cam (PNG path or null), lungs {found, area_fraction,
    cam_in_lungs} (null without a lung model), timings (ms), error (message or null)

``--lung-dir`` writes ``<stem>.lungs.png`` (8-bit, 255 = lung, the image's size as
loaded); ``--cam-raw`` writes ``<stem>.cam.npy`` (float32 in [0, 1], the same size,
for the predicted class and the chosen method, before the probability weighting
the PNGs apply).

A failed image has ok=false, an error message, and null results. Only the file
path identifies an image; no DICOM metadata is printed or logged.

Exit status: 0 every image analysed, 1 any image failed (or none found),
2 usage error or no usable model. Research use only, not for diagnosis.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cxrviewer.atomic_files import atomic_writer, folder_problem
from cxrviewer.inference.messages import describe_failure, describe_model_failure
from cxrviewer.inference.requests import InferenceRequest, InferenceResult
from cxrviewer.io import iter_image_files
from cxrviewer.io.sandbox import load_image_isolated, prestart_decoder

from .info_format import print_skipped
from cxrviewer.model.cam_options import CAM_METHODS, GRADCAM
from cxrviewer.model.cam_render import write_mask_png, write_overlay_png
from cxrviewer.resources import bundled_model_dir

if TYPE_CHECKING:
    from cxrviewer.inference.engine import InferenceEngine

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
JSON_KEYS = ("path", "ok", "probabilities", "label", "confidence", "uncertain", "ood", "cam", "lungs", "timings",
             "error")
DEVICES = ("auto", "cpu", "cuda", "mps")
# Pixels of the images one batch holds (64 Mi, 256 MiB as float32): eight ordinary films
# fit, a film larger than the budget is analysed alone.
BATCH_PIXELS = 64 * 2**20
# Images per forward pass, by benchmarks/bench_forward.py's batch scans (one thread, 2 cores).
# ONNX Runtime, what runs on the CPU (idle machine; ms per image at 1 / 2 / 4 / 8 / 16 images):
# 20.9 / 18.6 / 18.2 / 20.6 / 20.5, with Grad-CAM 20.5 / 18.4 / 19.3 / 19.4 / 20.0: flat from 2
# on. PyTorch's fused form (2 cores other jobs used): 42 / 36 / 31 / 32 / 37, with Grad-CAM
# 43 / 37 / 33 / 34 / 39, and 4 the fastest in three scans; 4 serves both.
DEFAULT_BATCH_SIZE = 4


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (f"--json keys: {', '.join(JSON_KEYS)}. Exit status: 0 all images analysed, 1 any failed, "
                     "2 usage error or no usable model. Research use only, not for diagnosis.")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders (walked recursively)")
    parser.add_argument("--model", metavar="DIR", type=Path, help="model directory (default: the bundled model)")
    parser.add_argument("--cam-dir", metavar="DIR", type=Path,
                        help="write a heat-map overlay PNG per image (<name>.cam.png) into DIR")
    parser.add_argument("--cam-raw", metavar="DIR", type=Path,
                        help="write the raw map per image (<name>.cam.npy, float32 in [0, 1]) into DIR")
    parser.add_argument("--lung-dir", metavar="DIR", type=Path,
                        help="write the lung-field mask per image (<name>.lungs.png, 255 = lung) into DIR")
    parser.add_argument("--cam-method", choices=CAM_METHODS, default=GRADCAM, help="CAM method (default: gradcam)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--device", choices=DEVICES, default="auto", help="where the model runs (default: auto)")
    parser.add_argument("--batch-size", type=_positive_int, default=DEFAULT_BATCH_SIZE, metavar="N",
                        help=f"images per forward pass (default: {DEFAULT_BATCH_SIZE})")


def run(args: argparse.Namespace) -> int:
    engine = _load_engine(args.model, args.device)
    if engine is None:
        return EXIT_USAGE
    if not args.json:
        print(f"model: {engine.info.architecture} on {engine.info.device_name} "
              "(research use only, not for diagnosis)", file=sys.stderr)
    if args.lung_dir and engine.segmenter is None:
        print("cxr predict: --lung-dir needs the lung model, which is not installed", file=sys.stderr)
        return EXIT_USAGE
    problem = _unwritable(args)
    if problem:
        print(f"cxr predict: {problem}", file=sys.stderr)
        return EXIT_USAGE
    namer = _OutputNamer(args) if (args.cam_dir or args.cam_raw or args.lung_dir) else None
    total = failed = 0
    for record in _predict_all(engine, iter_image_files(args.paths, on_skip=print_skipped), args, namer):
        total += 1
        failed += not record["ok"]
        print(json.dumps(record, allow_nan=False) if args.json else _text_line(record), flush=True)
    if total == 0:
        print("no image files found", file=sys.stderr)
        return EXIT_FAILED
    if not args.json:
        print(f"{total} image(s), {failed} failed", file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


def _load_engine(model: Path | None, device: str, prog: str = "cxr predict") -> InferenceEngine | None:
    model_dir = model if model is not None else bundled_model_dir()
    if model is None and not model_dir.is_dir():
        print(f"{prog}: no model: the bundled model is not installed ({model_dir}); "
              "pass --model DIR with a model directory", file=sys.stderr)
        return None
    # The first image decoder starts now, so its start-up runs on the other core while this
    # process imports the runtime (onnxruntime, or torch), imported here, not at the top, for
    # the same reason.
    prestart_decoder()
    from cxrviewer.inference.engine import InferenceEngine

    problem = _device_problem(device)
    if problem:
        print(f"{prog}: {problem}", file=sys.stderr)
        return None
    try:
        return InferenceEngine.load(model_dir, device=device)
    except Exception as exc:  # a model we cannot use is a setup error, whatever its kind
        print(f"{prog}: {describe_model_failure(exc, model_dir)}", file=sys.stderr)
        return None


def _device_problem(device: str) -> str:
    if device not in ("cuda", "mps"):
        return ""  # the CPU runs everywhere; "auto" is decided by the engine (without torch where it can)
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        return "--device cuda: no CUDA GPU is available (try --device auto)"
    if device == "mps" and not torch.backends.mps.is_available():
        return "--device mps: Apple MPS is not available (try --device auto)"
    return ""


def _predict_all(engine, paths: Iterable[Path], args, namer) -> Iterator[dict]:
    for batch in _loaded_batches(paths, args.batch_size):
        yield from _predict_batch(engine, batch, args, namer)


def _loaded_batches(paths: Iterable[Path], size: int) -> Iterator[list[tuple[Path, object, float]]]:
    """(path, LoadedImage or error message, load ms) in input order, at most ``size`` per batch
    and about BATCH_PIXELS pixels: a large film is analysed on its own, so a batch never holds
    several of them (and their maps) at once."""
    batch: list[tuple[Path, object, float]] = []
    pixels = 0
    for path in paths:
        start = time.perf_counter()
        try:
            item: object = load_image_isolated(path)
        except Exception as exc:
            item = describe_failure(exc, path)
        load_ms = (time.perf_counter() - start) * 1e3
        count = 0 if isinstance(item, str) else item.pixels.size
        if batch and pixels + count > BATCH_PIXELS:
            yield batch
            batch, pixels = [], 0
        batch.append((path, item, load_ms))
        pixels += count
        if len(batch) >= size:
            yield batch
            batch, pixels = [], 0
    if batch:
        yield batch


def _predict_batch(engine: InferenceEngine, batch: list[tuple[Path, object, float]], args, namer) -> Iterator[dict]:
    for record, _, _ in predict_batch_detailed(engine, batch, args, namer, bool(args.cam_dir or args.cam_raw)):
        yield record


def predict_batch_detailed(engine: InferenceEngine, batch: list[tuple[Path, object, float]], args, namer,
                           wants_cam: bool) -> Iterator[tuple[dict, InferenceResult | None, object]]:
    """(JSON record, InferenceResult or None, LoadedImage or None) per image of a loaded batch: the
    records `cxr predict` prints, with what made them for callers that write more (`cxr pacs predict`)."""
    loaded = {i: (InferenceRequest(i, image=item, cam=wants_cam, cam_method=args.cam_method), item)
              for i, (_, item, _) in enumerate(batch) if not isinstance(item, str)}
    results = _analyse(engine, [v[0] for v in loaded.values()], [v[1] for v in loaded.values()])
    for i, (path, item, load_ms) in enumerate(batch):
        if isinstance(item, str):
            yield _failure(path, item), None, None
            continue
        outcome = results[i]
        if isinstance(outcome, str):
            yield _failure(path, outcome), None, None
        else:
            yield _record(outcome, item, load_ms, namer), outcome, item


def _analyse(engine: InferenceEngine, requests: list[InferenceRequest], images: list) -> dict[int, object]:
    """Batched; if the batch fails, image by image so each error lands on its own file."""
    try:
        return {r.request_id: res for r, res in zip(requests, engine.run_many(requests, images))}
    except Exception:
        log.debug("batch failed; retrying image by image", exc_info=True)
    outcomes: dict[int, object] = {}
    for request, image in zip(requests, images):
        try:
            outcomes[request.request_id] = engine.run_many([request], [image])[0]
        except Exception as exc:
            outcomes[request.request_id] = describe_failure(exc, request.path)
    return outcomes


def _record(result: InferenceResult, image, load_ms: float, namer) -> dict:
    timings = {"load_ms": load_ms, **result.timings}
    cam_path = None
    if namer is not None:
        start = time.perf_counter()
        try:
            cam_path = _write_outputs(result, image, namer)
        except OSError as exc:
            return _failure(result.path, f"{result.path.name}: could not write an output file ({exc.strerror or exc})")
        timings["outputs_ms"] = (time.perf_counter() - start) * 1e3
    return {
        "path": str(result.path),
        "ok": True,
        "probabilities": {k: _finite(v) for k, v in result.probabilities.items()},
        "label": result.label,
        "confidence": _finite(result.confidence),
        "uncertain": result.uncertain,
        "ood": {"flag": result.ood_flag, "score": _finite(result.ood_score)},
        "cam": cam_path,
        "lungs": _lungs_record(result),
        "timings": {k: round(v, 2) for k, v in timings.items()},
        "error": None,
    }


def _write_outputs(result: InferenceResult, image, namer: _OutputNamer) -> str | None:
    """Write the files asked for; returns the overlay PNG's path (or None)."""
    names = namer.names_for(result.path)
    cam_path = None
    if namer.cam_dir and result.cam is not None:
        write_overlay_png(names["cam"], image, result.cam, result.cam_strength)
        cam_path = str(names["cam"])
    if namer.cam_raw and result.cam is not None:
        with atomic_writer(names["raw"]) as fh:  # np.save writes a float32 array to a real file without a copy
            np.save(fh, result.cam.astype(np.float32, copy=False), allow_pickle=False)
    if namer.lung_dir and result.lungs is not None:
        write_mask_png(names["lungs"], result.lungs.mask)
    return cam_path


def _lungs_record(result: InferenceResult) -> dict | None:
    lungs = result.lungs
    if lungs is None:
        return None
    return {
        "found": lungs.found,
        "area_fraction": round(lungs.area_fraction, 4),
        "cam_in_lungs": None if lungs.cam_in_lungs is None else round(lungs.cam_in_lungs, 4),
    }


def _failure(path: Path, message: str) -> dict:
    return {"path": str(path), "ok": False, "probabilities": None, "label": None, "confidence": None,
            "uncertain": None, "ood": None, "cam": None, "lungs": None, "timings": {}, "error": message}


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None  # JSON has no inf/NaN


def _text_line(record: dict) -> str:
    if not record["ok"]:
        return f"{record['path']}: FAILED: {record['error']}"
    parts = [f"{record['path']}: {record['label']} {record['confidence']:.0%}"]
    if record["uncertain"]:
        parts.append("(uncertain)")
    if record["ood"]["flag"]:
        parts.append("[not like the training chest X-rays]")
    lungs = record["lungs"]
    if lungs is not None and not lungs["found"]:
        parts.append("[no plausible pair of lung fields]")
    elif lungs is not None and lungs["cam_in_lungs"] is not None:
        parts.append(f"map in lungs {lungs['cam_in_lungs']:.0%}")
    if record["cam"]:
        parts.append(f"cam: {record['cam']}")
    return " ".join(parts)


class _OutputNamer:
    """``<stem>.cam.png`` / ``.cam.npy`` / ``.lungs.png`` per input, numbered when two inputs share a stem."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.cam_dir, self.cam_raw, self.lung_dir = args.cam_dir, args.cam_raw, args.lung_dir
        self._used: set[str] = set()

    def names_for(self, source: Path) -> dict[str, Path]:
        stem, n = source.stem, 2
        while stem in self._used:
            stem, n = f"{source.stem}-{n}", n + 1
        self._used.add(stem)
        return {
            "cam": (self.cam_dir or Path()) / f"{stem}.cam.png",
            "raw": (self.cam_raw or Path()) / f"{stem}.cam.npy",
            "lungs": (self.lung_dir or Path()) / f"{stem}.lungs.png",
        }


def _unwritable(args: argparse.Namespace) -> str:
    """Check the output folders before any image is analysed, so no reading is thrown away."""
    for flag, folder in (("--cam-dir", args.cam_dir), ("--cam-raw", args.cam_raw), ("--lung-dir", args.lung_dir)):
        problem = folder_problem(folder) if folder is not None else ""
        if problem:
            return f"{flag} {problem}"
    return ""


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value
