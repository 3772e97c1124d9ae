"""The viewer's inference path against bare PyTorch doing the same work, same run.

    python benchmarks/bench_inference.py [--arch efficientnet_lite0] [--repeats 9] [--batch 16] [--images 32]
        [--model DIR]

Prints one JSON object:

* single: one decoded image (the NIH chest DICOM, 1024 x 1024) -> calibrated
  probabilities + OOD + Grad-CAM at full resolution (InferenceEngine.run), against
  bare PyTorch doing the same from the same decoded image (benchmarks/same_work.py
  BareCamPath): window, border crop, resize, equalisation, a forward with the weights
  frozen, ``torch.autograd.grad`` from the class logit to the CAM layer only, the
  Grad-CAM formula and the map back on the full image. And the same without a CAM
  against a bare inference-mode forward from the image. ``same_answer`` shows that
  both give the same probabilities and map. The engine's lung fields are cached per
  image, so neither side segments the lungs in the timed runs.
* batch: decoded cxr3 images -> results (InferenceEngine.run_many, no CAM) against
  bare batched forwards from the same decoded images (preprocessing included).

When the engine runs on ONNX Runtime (a model directory with model.onnx, as the bundled
one), a second baseline runs the same graph in a bare ``onnxruntime`` session from the
same image (benchmarks/same_work.py BareOnnxPath): the engine's own overhead; and a third,
``bare_onnxruntime_spinning``, the same session with ONNX Runtime's default of idle threads
spin-waiting after each run (cxrviewer turns that off: on 2 cores the spinning threads of one
session slow the next session's run, the lung model's the classifier's). The bare
PyTorch baseline stays as what the same work costs without our runtime choice.

The model is --model DIR or a random-weight directory of the chosen architecture
(speed does not depend on the weights; a random directory has no graph, so it
measures the PyTorch path). Contenders alternate every repeat; medians.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from same_work import BareCamPath, BareOnnxPath  # noqa: E402
from timing import interleaved_median_ms  # noqa: E402

from cxrviewer.inference.engine import InferenceEngine  # noqa: E402
from cxrviewer.inference.requests import InferenceRequest  # noqa: E402
from cxrviewer.io import load_image  # noqa: E402
from cxrviewer.malloc_tuning import tune_malloc  # noqa: E402
from cxrviewer.model.export import create_random_model_dir  # noqa: E402
from cxrviewer.model.onnx_runtime_files import lists_runtime_graph  # noqa: E402
from cxrviewer.resources import demo_images  # noqa: E402

log = logging.getLogger("bench_inference")
CXR3 = Path(__file__).resolve().parents[2] / "shared" / "data" / "cxr3"


def same_answer(ours, bare: dict) -> dict:
    probabilities = np.array(list(ours.probabilities.values()))
    answer = {"max_probability_difference": float(np.abs(probabilities - bare["probabilities"]).max())}
    if ours.cam is not None:
        answer["cam_correlation"] = round(float(np.corrcoef(ours.cam.ravel(), bare["cam"].ravel())[0, 1]), 6)
    return answer


def single_image(engine: InferenceEngine, baselines: dict, repeats: int) -> dict:
    image = load_image(next(p for p in demo_images() if p.suffix == ".dcm"))
    with_cam = InferenceRequest(1, image=image, cam=True)
    without_cam = InferenceRequest(2, image=image, cam=False)
    contenders = {"ours_with_cam": lambda: engine.run(with_cam), "ours_without_cam": lambda: engine.run(without_cam)}
    for name, bare in baselines.items():
        contenders[f"{name}_cam_from_image"] = lambda bare=bare: bare.run_image(image)
        contenders[f"{name}_forward_from_image"] = lambda bare=bare: bare.run_without_cam(image)
    timed = interleaved_median_ms(contenders, repeats)
    result = engine.run(with_cam)
    report = {"image_size": [image.height, image.width], "median_ms": timed,
              "ours_with_cam_breakdown_ms": {k: round(v, 2) for k, v in result.timings.items()}}
    for name, bare in baselines.items():
        report[f"ratio_cam_ours_to_{name}"] = round(timed["ours_with_cam"] / timed[f"{name}_cam_from_image"], 2)
        report[f"ratio_no_cam_ours_to_{name}"] = round(
            timed["ours_without_cam"] / timed[f"{name}_forward_from_image"], 2)
        report[f"same_answer_as_{name}"] = {
            "with_cam": same_answer(result, bare.run_image(image)),
            "without_cam": same_answer(engine.run(without_cam), bare.run_without_cam(image))}
    return report


def batch_throughput(engine: InferenceEngine, baselines: dict, count: int, batch: int, repeats: int) -> dict:
    paths = sorted((CXR3 / "images").rglob("*.jpg"))[:count]
    images = [load_image(p) for p in paths]
    requests = [InferenceRequest(i, image=im, cam=False) for i, im in enumerate(images)]

    def ours() -> None:
        for start in range(0, count, batch):
            engine.run_many(requests[start:start + batch], images[start:start + batch])

    def bare_batches(bare) -> None:
        for start in range(0, count, batch):
            bare.forward_batch(torch.cat([bare.input_of(im) for im in images[start:start + batch]]))

    contenders = {"ours": ours}
    contenders.update({f"{name}_from_images": (lambda bare=bare: bare_batches(bare)) for name, bare in baselines.items()})
    timed = interleaved_median_ms(contenders, repeats)
    rates = {name: round(count / (ms / 1e3), 1) for name, ms in timed.items()}
    report = {"images": count, "batch_size": batch, "repeats": repeats, "images_per_s": rates}
    for name in baselines:
        report[f"ratio_ours_vs_{name}"] = round(rates["ours"] / rates[f"{name}_from_images"], 2)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="efficientnet_lite0")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--model", type=Path, default=None, help="a model directory instead of a random one")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    malloc_tuned = tune_malloc()  # as the cxr and cxrviewer executables do at start-up
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = args.model or create_random_model_dir(Path(tmp) / "model", arch=args.arch)
        engine = InferenceEngine.load(model_dir)
        baselines = {"bare_torch": BareCamPath(model_dir)}
        if engine.info.forward_form == "onnxruntime" and lists_runtime_graph(model_dir):
            baselines["bare_onnxruntime"] = BareOnnxPath(Path(model_dir), torch.get_num_threads())
            baselines["bare_onnxruntime_spinning"] = BareOnnxPath(Path(model_dir), torch.get_num_threads(),
                                                                  spinning=True)
    result = {
        "benchmark": "inference",
        "model": engine.info.architecture if args.model else f"random {args.arch}",
        "forward_form": engine.info.forward_form,
        "device": engine.info.device_name,
        "torch_threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "repeats": args.repeats,
        "malloc_tuning": malloc_tuned,
        "single": single_image(engine, baselines, args.repeats),
        "batch": batch_throughput(engine, baselines, args.images, args.batch, max(7, args.repeats // 3)),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
