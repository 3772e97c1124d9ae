"""The classifier's forward pass against the machine's sgemm floor, and the inference forms tried, same run.

    python benchmarks/bench_forward.py [--threads 1] [--repeats 9] [--images 32] [--batches 1,8]
        [--scan 1,2,4,8,16] [--model DIR] [--no-int8]

Prints one JSON object. The model is the bundled one (or --model DIR), loaded as the engine
loads it (``Predictor.from_dir``, weights frozen); ``current`` is that eager model, as the
engine ran it before model/fast_forward.py. The inputs are real chest X-rays (the cxr3 test
split, evenly spaced), preprocessed as the engine does.

* ``floor``: the model's multiply-add FLOPs (counted with hooks on its convs and linear
  layer) at batch N, and the time of a ``torch.mm`` of two square float32 matrices with the
  same FLOPs, timed in the same loop as the contenders: what the forward would cost at this
  machine's sgemm rate, now.
* ``timed``: per batch size, medians (ms) of contenders alternating every repeat: the
  forward with OOD features (``forward_with_features`` under inference_mode, what
  ``Predictor.predict_arrays`` runs) and the Grad-CAM pass (``cam.compute_cam``: forward,
  gradient from the class logit to the CAM layer, the map), for the current model and each
  candidate form; each as a ratio to ``current`` and to the floor.
* ``exactness``: per candidate over all the images (batches of 8), the largest absolute
  difference of the calibrated probabilities from the current model's, the largest relative
  difference of the OOD score, whether the labels agree, and the lowest Grad-CAM map
  correlation (forms that can run Grad-CAM).
* ``cost``: building each candidate (s); ``load_to_first_result``: a fresh model load and one
  forward, the current model against the shipped form (optimise_for_inference included).
* ``batch_scan``: the shipped form's time per image with and without Grad-CAM at each batch
  size (what `cxr predict --batch-size` should default to).

Candidates: BatchNorm folding; channels-last; both; the torch form the engine ships (both, and oneDNN
convolutions with prepacked weights and ReLU6 / residual add fused: model/fast_forward.py,
``shipped``); ``onnxruntime``, the model directory's ONNX graph on ONNX Runtime with as many
intra-op threads as torch (model/onnx_runtime.py: what the engine runs on the CPU when the
graph is there; its forward is the whole graph, OOD score and raw maps of every CAM method
included, and its Grad-CAM pass adds picking and scaling the map);
``torch.jit.freeze`` and ``torch.jit.optimize_for_inference`` of a trace of
``forward_with_features`` (no Grad-CAM: the frozen graph has no hookable layer); int8
dynamic quantisation (what it applies to: the linear layer) and int8 static quantisation
(FX, the x86 backend, calibrated on 32 val images). A candidate is worth keeping only when
it is faster here and exact: max probability difference < 1e-3, CAM correlation > 0.999.

On a machine other jobs use, times move between runs: only same-run ratios mean anything.
``--threads 1`` (default) pins torch to one intra-op thread, so the contenders compete for
one core each alike; the load average is recorded.
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cxrviewer.io import load_image
from cxrviewer.model.cam import compute_cam
from cxrviewer.model.cam_options import GRADCAM
from cxrviewer.model.fast_forward import fold_batch_norms, optimise_for_inference
from cxrviewer.model.onnx_runtime import OnnxPredictor
from cxrviewer.model.onnx_runtime_files import lists_runtime_graph
from cxrviewer.model.predictor import Predictor
from cxrviewer.resources import bundled_model_dir
from timing import interleaved_median_ms  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

CXR3 = Path(__file__).resolve().parents[2] / "shared" / "data" / "cxr3"
FIXTURE_CXR3 = Path(__file__).resolve().parents[1] / "tests" / "data" / "cxr3"
CL = torch.channels_last

Forward = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def real_inputs(predictor: Predictor, split: str, count: int) -> torch.Tensor:
    root = CXR3 if (CXR3 / "labels.csv").is_file() else FIXTURE_CXR3
    with open(root / "labels.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == split]
    step = max(1, len(rows) // count)
    chosen = rows[::step][:count]
    return torch.from_numpy(np.stack([predictor.preprocess(load_image(root / r["path"])).array for r in chosen]))


def load(model_dir: Path) -> Predictor:
    predictor = Predictor.from_dir(model_dir, device="cpu")
    predictor.model.requires_grad_(False)  # as InferenceEngine.load
    return predictor


def count_flops(model: nn.Module, size: int) -> int:
    """Multiply-adds x 2 of the convs and linear layers for one image."""
    total = 0

    def hook(module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            total += 2 * output.numel() * module.in_channels // module.groups * kh * kw
        else:
            total += 2 * output.numel() * module.in_features

    hooks = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    with torch.inference_mode():
        model.forward_with_features(torch.zeros(1, 1, size, size))
    for h in hooks:
        h.remove()
    return total


class _Traced(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.forward_with_features(x)


def build_candidates(predictor: Predictor, calibration: torch.Tensor, int8: bool) -> tuple[dict, dict, dict]:
    """name -> model (eager, Grad-CAM capable) and name -> forward (no CAM), with build seconds."""
    base = predictor.model
    size = predictor.config.input_size
    eager: dict[str, nn.Module] = {"current": base}
    plain: dict[str, Forward] = {}
    cost: dict[str, float] = {}

    def timed(name: str, build: Callable[[], object]) -> object:
        start = time.perf_counter()
        built = build()
        cost[name] = round(time.perf_counter() - start, 3)
        return built

    eager["bn_folded"] = timed("bn_folded", lambda: fold_batch_norms(copy.deepcopy(base)))
    eager["channels_last"] = timed("channels_last", lambda: _channels_last(copy.deepcopy(base)))
    eager["bn_folded_channels_last"] = timed("bn_folded_channels_last",
                                             lambda: _channels_last(fold_batch_norms(copy.deepcopy(base))))
    shipped = copy.deepcopy(base)
    form = timed("shipped", lambda: optimise_for_inference(shipped, size, (predictor.config.cam_target_layer,
                                                                           predictor.config.ood.layer)))
    eager["shipped"] = shipped
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.no_grad():
            def trace() -> torch.jit.ScriptModule:
                return torch.jit.trace(_Traced(copy.deepcopy(base)).eval(), calibration[:1], check_trace=False)

            plain["jit_freeze"] = timed("jit_freeze", lambda: torch.jit.freeze(trace()))
            plain["jit_optimize_for_inference"] = timed("jit_optimize_for_inference",
                                                        lambda: torch.jit.optimize_for_inference(trace()))
        if int8:
            dynamic = timed("int8_dynamic", lambda: torch.ao.quantization.quantize_dynamic(
                copy.deepcopy(base), {nn.Linear}, dtype=torch.qint8))
            plain["int8_dynamic"] = dynamic.forward_with_features
            plain["int8_static"] = timed("int8_static", lambda: _static_int8(base, calibration))
    return eager, plain, {"build_s": cost, "shipped_form": form}


def _channels_last(model: nn.Module) -> nn.Module:
    model.to(memory_format=CL)
    model.input_memory_format = CL
    return model


def _static_int8(base: nn.Module, calibration: torch.Tensor) -> Forward:
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    torch.backends.quantized.engine = "x86"
    prepared = prepare_fx(_Traced(fold_batch_norms(copy.deepcopy(base))).eval(),
                          get_default_qconfig_mapping("x86"), example_inputs=(calibration[:1],))
    with torch.inference_mode():
        for start in range(0, len(calibration), 8):
            prepared(calibration[start:start + 8])
    return convert_fx(prepared)


def forward_of(model: nn.Module) -> Forward:
    return model.forward_with_features


def exactness(predictor: Predictor, eager: dict, plain: dict, images: torch.Tensor, layer: str) -> dict:
    temperature = predictor.config.temperature

    def outputs(forward: Forward) -> tuple[np.ndarray, np.ndarray]:
        with torch.inference_mode():
            parts = [forward(images[i:i + 8]) for i in range(0, len(images), 8)]
        logits = torch.cat([p[0] for p in parts]).float()
        features = torch.cat([p[1] for p in parts]).float()
        return torch.softmax(logits / temperature, 1).numpy(), predictor.ood.score(features).numpy()

    def maps(model: nn.Module) -> np.ndarray:
        return np.concatenate([compute_cam(model, images[i:i + 8], layer).maps for i in range(0, len(images), 8)])

    ref_p, ref_ood = outputs(forward_of(eager["current"]))
    ref_maps = maps(eager["current"])
    report = {}
    for name, forward in [(n, forward_of(m)) for n, m in eager.items() if n != "current"] + list(plain.items()):
        p, ood = outputs(forward)
        entry = {
            "max_probability_difference": float(np.abs(p - ref_p).max()),
            "max_ood_relative_difference": float((np.abs(ood - ref_ood) / np.abs(ref_ood)).max()),
            "labels_agree": float((p.argmax(1) == ref_p.argmax(1)).mean()),
        }
        if name in eager:
            ours = maps(eager[name])
            entry["min_cam_correlation"] = float(min(np.corrcoef(a.ravel(), b.ravel())[0, 1]
                                                     for a, b in zip(ours, ref_maps)))
        entry["exact"] = (entry["max_probability_difference"] < 1e-3
                          and entry.get("min_cam_correlation", 1.0) > 0.999)
        report[name] = entry
    return report


def timed_batch(eager: dict, plain: dict, images: torch.Tensor, batch: int, flops: int, layer: str,
                repeats: int, runtime=None) -> dict:
    x = images[:batch].clone()
    n = round((flops * batch / 2) ** (1 / 3))
    a, b = torch.randn(n, n), torch.randn(n, n)
    runs: dict[str, Callable[[], object]] = {"sgemm_floor": lambda: torch.mm(a, b)}
    for name, model in eager.items():
        runs[f"{name}.forward"] = _inference(forward_of(model), x)
    for name, forward in plain.items():
        runs[f"{name}.forward"] = _inference(forward, x)
    for name, model in eager.items():
        runs[f"{name}.cam"] = lambda model=model: compute_cam(model, x, layer)
    if runtime is not None:
        array = x.numpy()
        runs["onnxruntime.forward"] = lambda: runtime.predict_arrays(array)
        runs["onnxruntime.cam"] = lambda: runtime.predict_with_cam(array, None, GRADCAM)
    medians = interleaved_median_ms(runs, repeats, warmups=2)
    floor = medians["sgemm_floor"]
    result = {"batch": batch, "repeats": repeats, "floor_matmul_n": n,
              "sgemm_floor_ms": floor, "sgemm_gflop_s": round(2 * n**3 / floor / 1e6, 1), "median_ms": medians,
              "vs_current": {}, "vs_floor": {}}
    for name, ms in medians.items():
        if name == "sgemm_floor":
            continue
        kind = name.rsplit(".", 1)[1]
        result["vs_current"][name] = round(ms / medians[f"current.{kind}"], 3)
        result["vs_floor"][name] = round(ms / floor, 2)
    return result


def _inference(forward: Forward, x: torch.Tensor) -> Callable[[], object]:
    def run() -> object:
        with torch.inference_mode():
            return forward(x)

    return run


def batch_scan(model: nn.Module, images: torch.Tensor, sizes: list[int], layer: str, repeats: int) -> dict:
    """Per-image ms of the shipped form at each batch size, forward alone and with Grad-CAM."""
    runs: dict[str, Callable[[], object]] = {}
    for size in sizes:
        x = images[:size].clone()
        runs[f"{size}.forward"] = _inference(forward_of(model), x)
        runs[f"{size}.cam"] = lambda x=x: compute_cam(model, x, layer)
    medians = interleaved_median_ms(runs, repeats, warmups=2)
    per_image = {kind: {size: round(medians[f"{size}.{kind}"] / size, 2) for size in sizes}
                 for kind in ("forward", "cam")}
    best = {kind: min(v, key=v.get) for kind, v in per_image.items()}
    return {"per_image_ms": per_image, "fastest_batch": best, "repeats": repeats}


def onnx_candidate(model_dir: Path, threads: int, cost: dict):
    """The directory's ONNX graph on ONNX Runtime with ``threads`` intra-op threads; None without one."""
    if not lists_runtime_graph(model_dir):
        return None
    start = time.perf_counter()
    runtime = OnnxPredictor.from_dir(model_dir, threads=threads)
    cost["build_s"]["onnxruntime"] = round(time.perf_counter() - start, 3)
    return runtime


def onnx_exactness(predictor: Predictor, current: nn.Module, runtime, images: torch.Tensor, layer: str) -> dict:
    """The same checks as exactness(), for the ONNX Runtime candidate (its graph computes the OOD score)."""
    if runtime is None:
        return {}
    with torch.inference_mode():
        parts = [current.forward_with_features(images[i:i + 8]) for i in range(0, len(images), 8)]
    ref_p = torch.softmax(torch.cat([p[0] for p in parts]).float() / predictor.config.temperature, 1).numpy()
    ref_ood = predictor.ood.score(torch.cat([p[1] for p in parts])).numpy()
    ref_maps = np.concatenate([compute_cam(current, images[i:i + 8], layer).maps for i in range(0, len(images), 8)])
    ours = [runtime.predict_with_cam(images[i:i + 8].numpy(), None, GRADCAM) for i in range(0, len(images), 8)]
    p = np.array([[r.probabilities[k] for k in runtime.labels] for batch in ours for r in batch[0]])
    ood = np.array([r.ood_score for batch in ours for r in batch[0]])
    maps = np.concatenate([batch[1].maps for batch in ours])
    entry = {
        "max_probability_difference": float(np.abs(p - ref_p).max()),
        "max_ood_relative_difference": float((np.abs(ood - ref_ood) / np.abs(ref_ood)).max()),
        "labels_agree": float((p.argmax(1) == ref_p.argmax(1)).mean()),
        "min_cam_correlation": float(min(np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(maps, ref_maps))),
    }
    entry["exact"] = entry["max_probability_difference"] < 1e-3 and entry["min_cam_correlation"] > 0.999
    return {"onnxruntime": entry}


def onnx_batch_scan(runtime, images: torch.Tensor, sizes: list[int], repeats: int) -> dict:
    """Per-image ms of the ONNX Runtime candidate at each batch size, with and without the map."""
    runs: dict[str, Callable[[], object]] = {}
    for size in sizes:
        array = images[:size].numpy()
        runs[f"{size}.forward"] = lambda array=array: runtime.predict_arrays(array)
        runs[f"{size}.cam"] = lambda array=array: runtime.predict_with_cam(array, None, GRADCAM)
    medians = interleaved_median_ms(runs, repeats, warmups=2)
    per_image = {kind: {size: round(medians[f"{size}.{kind}"] / size, 2) for size in sizes}
                 for kind in ("forward", "cam")}
    return {"per_image_ms": per_image, "fastest_batch": {kind: min(v, key=v.get) for kind, v in per_image.items()},
            "repeats": repeats}


def load_to_first_result(model_dir: Path, images: torch.Tensor, repeats: int, threads: int = 1) -> dict:
    """A fresh load and one forward: the model as loaded against it rewritten (the form's cost included)."""
    def current() -> None:
        predictor = load(model_dir)
        with torch.inference_mode():
            predictor.model.forward_with_features(images[:1])

    def shipped() -> None:
        predictor = load(model_dir)
        config = predictor.config
        optimise_for_inference(predictor.model, config.input_size, (config.cam_target_layer, config.ood.layer))
        with torch.inference_mode():
            predictor.model.forward_with_features(images[:1])

    runs = {"current": current, "shipped": shipped}
    if lists_runtime_graph(model_dir):
        def onnxruntime() -> None:
            OnnxPredictor.from_dir(model_dir, threads=threads).predict_arrays(images[:1].numpy())

        runs["onnxruntime"] = onnxruntime
    return interleaved_median_ms(runs, repeats, warmups=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="model directory (default: the bundled one)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--images", type=int, default=32, help="real images for the exactness checks (>= 32)")
    parser.add_argument("--batches", default="1,8")
    parser.add_argument("--scan", default="1,2,4,8,16", help="batch sizes for the CLI batch-size scan ('' = none)")
    parser.add_argument("--no-int8", action="store_true", help="leave out the int8 candidates (static: ~20 s)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model_dir = args.model or bundled_model_dir()
    load_before = os.getloadavg()
    predictor = load(model_dir)
    layer = predictor.config.cam_target_layer
    size = predictor.config.input_size
    images = real_inputs(predictor, "test", args.images)
    calibration = real_inputs(predictor, "val", 32)
    eager, plain, cost = build_candidates(predictor, calibration, not args.no_int8)
    runtime = onnx_candidate(model_dir, args.threads, cost)
    flops = count_flops(predictor.model, size)
    result = {
        "benchmark": "forward",
        "model": str(model_dir),
        "architecture": predictor.config.architecture,
        "input_size": size,
        "images": len(images),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "gflop_per_image": round(flops / 1e9, 4),
        "cost": cost,
        "exactness": {**exactness(predictor, eager, plain, images, layer),
                      **onnx_exactness(predictor, eager["current"], runtime, images, layer)},
        "timed": [timed_batch(eager, plain, images, int(b), flops, layer, args.repeats, runtime)
                  for b in args.batches.split(",") if b],
    }
    sizes = [int(s) for s in args.scan.split(",") if s]
    if sizes:
        result["batch_scan"] = batch_scan(eager["shipped"], images, sizes, layer, max(3, args.repeats // 2))
        if runtime is not None:
            result["batch_scan_onnxruntime"] = onnx_batch_scan(runtime, images, sizes, max(3, args.repeats // 2))
    result["load_to_first_result_ms"] = load_to_first_result(model_dir, images, 5, args.threads)
    result["load_average"] = {"before": [round(v, 2) for v in load_before],
                              "after": [round(v, 2) for v in os.getloadavg()]}
    result["note"] = ("times on a machine other jobs use move between runs; compare ratios within this run"
                      if load_before[0] > (os.cpu_count() or 1) * 0.5 else "")
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
