"""`cxr predict PATH...`: the model's reading of images, one line per image.

Folders are walked (cxrviewer.io.iter_image_files). With ``--json`` each line is
one JSON object with exactly the keys in ``JSON_KEYS``:

    path, ok, probabilities (label -> probability), label, confidence, uncertain,
    ood {flag, score}, cam (PNG path or null), timings (ms), error (message or null)

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
from itertools import islice
from pathlib import Path

from cxrviewer.inference.engine import InferenceEngine
from cxrviewer.inference.messages import describe_failure, describe_model_failure
from cxrviewer.inference.requests import InferenceRequest, InferenceResult
from cxrviewer.io import iter_image_files, load_image
from cxrviewer.model.cam_options import CAM_METHODS, GRADCAM
from cxrviewer.model.cam_render import render_overlay, write_png_atomic
from cxrviewer.resources import bundled_model_dir

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
JSON_KEYS = ("path", "ok", "probabilities", "label", "confidence", "uncertain", "ood", "cam", "timings", "error")
DEVICES = ("auto", "cpu", "cuda", "mps")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (f"--json keys: {', '.join(JSON_KEYS)}. Exit status: 0 all images analysed, 1 any failed, "
                     "2 usage error or no usable model. Research use only, not for diagnosis.")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders (walked recursively)")
    parser.add_argument("--model", metavar="DIR", type=Path, help="model directory (default: the bundled model)")
    parser.add_argument("--cam-dir", metavar="DIR", type=Path,
                        help="write a heat-map overlay PNG per image (<name>.cam.png) into DIR")
    parser.add_argument("--cam-method", choices=CAM_METHODS, default=GRADCAM, help="CAM method (default: gradcam)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--device", choices=DEVICES, default="auto", help="where the model runs (default: auto)")
    parser.add_argument("--batch-size", type=_positive_int, default=8, metavar="N",
                        help="images per forward pass (default: 8)")


def run(args: argparse.Namespace) -> int:
    engine = _load_engine(args.model, args.device)
    if engine is None:
        return EXIT_USAGE
    if not args.json:
        print(f"model: {engine.info.architecture} on {engine.info.device_name} "
              "(research use only, not for diagnosis)", file=sys.stderr)
    namer = _CamNamer(args.cam_dir) if args.cam_dir else None
    total = failed = 0
    for record in _predict_all(engine, iter_image_files(args.paths), args, namer):
        total += 1
        failed += not record["ok"]
        print(json.dumps(record, allow_nan=False) if args.json else _text_line(record), flush=True)
    if total == 0:
        print("no image files found", file=sys.stderr)
        return EXIT_FAILED
    if not args.json:
        print(f"{total} image(s), {failed} failed", file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


def _load_engine(model: Path | None, device: str) -> InferenceEngine | None:
    model_dir = model if model is not None else bundled_model_dir()
    if model is None and not model_dir.is_dir():
        print(f"cxr predict: no model: the bundled model is not installed ({model_dir}); "
              "pass --model DIR with a model directory", file=sys.stderr)
        return None
    problem = _device_problem(device)
    if problem:
        print(f"cxr predict: {problem}", file=sys.stderr)
        return None
    try:
        return InferenceEngine.load(model_dir, device=device)
    except Exception as exc:  # a model we cannot use is a setup error, whatever its kind
        print(f"cxr predict: {describe_model_failure(exc, model_dir)}", file=sys.stderr)
        return None


def _device_problem(device: str) -> str:
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        return "--device cuda: no CUDA GPU is available (try --device auto)"
    if device == "mps" and not torch.backends.mps.is_available():
        return "--device mps: Apple MPS is not available (try --device auto)"
    return ""


def _predict_all(engine, paths: Iterable[Path], args, namer) -> Iterator[dict]:
    paths = iter(paths)
    while chunk := list(islice(paths, args.batch_size)):
        yield from _predict_chunk(engine, chunk, args, namer)


def _predict_chunk(engine: InferenceEngine, paths: list[Path], args, namer) -> Iterator[dict]:
    loaded: dict[Path, tuple] = {}
    failures: dict[int, dict] = {}
    for i, path in enumerate(paths):
        start = time.perf_counter()
        try:
            image = load_image(path)
        except Exception as exc:
            failures[i] = _failure(path, describe_failure(exc, path))
            continue
        request = InferenceRequest(i, image=image, cam=namer is not None, cam_method=args.cam_method)
        loaded[i] = (request, image, (time.perf_counter() - start) * 1e3)
    results = _analyse(engine, [v[0] for v in loaded.values()], [v[1] for v in loaded.values()])
    for i, path in enumerate(paths):
        if i in failures:
            yield failures[i]
            continue
        request, image, load_ms = loaded[i]
        outcome = results[i]
        if isinstance(outcome, str):
            yield _failure(path, outcome)
        else:
            yield _record(outcome, image, load_ms, namer)


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
    if namer is not None and result.cam is not None:
        start = time.perf_counter()
        target = namer.name_for(result.path)
        try:
            write_png_atomic(target, render_overlay(image, result.cam))
        except OSError as exc:
            return _failure(result.path, f"{result.path.name}: could not write the CAM image ({exc.strerror or exc})")
        cam_path = str(target)
        timings["cam_png_ms"] = (time.perf_counter() - start) * 1e3
    return {
        "path": str(result.path),
        "ok": True,
        "probabilities": {k: _finite(v) for k, v in result.probabilities.items()},
        "label": result.label,
        "confidence": _finite(result.confidence),
        "uncertain": result.uncertain,
        "ood": {"flag": result.ood_flag, "score": _finite(result.ood_score)},
        "cam": cam_path,
        "timings": {k: round(v, 2) for k, v in timings.items()},
        "error": None,
    }


def _failure(path: Path, message: str) -> dict:
    return {"path": str(path), "ok": False, "probabilities": None, "label": None, "confidence": None,
            "uncertain": None, "ood": None, "cam": None, "timings": {}, "error": message}


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
    if record["cam"]:
        parts.append(f"cam: {record['cam']}")
    return " ".join(parts)


class _CamNamer:
    """``<stem>.cam.png`` in the CAM folder, numbered when two inputs share a stem."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._used: set[str] = set()

    def name_for(self, source: Path) -> Path:
        name, n = f"{source.stem}.cam.png", 2
        while name in self._used:
            name, n = f"{source.stem}-{n}.cam.png", n + 1
        self._used.add(name)
        return self._folder / name


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value
