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

The model is --model DIR or a random-weight directory of the chosen architecture
(speed does not depend on the weights). Contenders alternate every repeat; medians.
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
from same_work import BareCamPath  # noqa: E402
from timing import interleaved_median_ms  # noqa: E402

from cxrviewer.inference.engine import InferenceEngine  # noqa: E402
from cxrviewer.inference.requests import InferenceRequest  # noqa: E402
from cxrviewer.io import load_image  # noqa: E402
from cxrviewer.malloc_tuning import tune_malloc  # noqa: E402
from cxrviewer.model.export import create_random_model_dir  # noqa: E402
from cxrviewer.resources import demo_images  # noqa: E402

log = logging.getLogger("bench_inference")
CXR3 = Path(__file__).resolve().parents[2] / "shared" / "data" / "cxr3"


def same_answer(ours, bare: dict) -> dict:
    probabilities = np.array(list(ours.probabilities.values()))
    answer = {"max_probability_difference": float(np.abs(probabilities - bare["probabilities"]).max())}
    if ours.cam is not None:
        answer["cam_correlation"] = round(float(np.corrcoef(ours.cam.ravel(), bare["cam"].ravel())[0, 1]), 6)
    return answer


def single_image(engine: InferenceEngine, bare: BareCamPath, repeats: int) -> dict:
    image = load_image(next(p for p in demo_images() if p.suffix == ".dcm"))
    with_cam = InferenceRequest(1, image=image, cam=True)
    without_cam = InferenceRequest(2, image=image, cam=False)
    timed = interleaved_median_ms({
        "ours_with_cam": lambda: engine.run(with_cam),
        "bare_cam_from_image": lambda: bare.run_image(image),
        "ours_without_cam": lambda: engine.run(without_cam),
        "bare_forward_from_image": lambda: bare.run_without_cam(image),
    }, repeats)
    result = engine.run(with_cam)
    return {
        "image_size": [image.height, image.width],
        "median_ms": timed,
        "ratio_cam_ours_to_bare": round(timed["ours_with_cam"] / timed["bare_cam_from_image"], 2),
        "ratio_no_cam_ours_to_bare": round(timed["ours_without_cam"] / timed["bare_forward_from_image"], 2),
        "same_answer": {"with_cam": same_answer(result, bare.run_image(image)),
                        "without_cam": same_answer(engine.run(without_cam), bare.run_without_cam(image))},
        "ours_with_cam_breakdown_ms": {k: round(v, 2) for k, v in result.timings.items()},
    }


def batch_throughput(engine: InferenceEngine, bare: BareCamPath, count: int, batch: int, repeats: int) -> dict:
    paths = sorted((CXR3 / "images").rglob("*.jpg"))[:count]
    images = [load_image(p) for p in paths]
    requests = [InferenceRequest(i, image=im, cam=False) for i, im in enumerate(images)]

    def ours() -> None:
        for start in range(0, count, batch):
            engine.run_many(requests[start:start + batch], images[start:start + batch])

    def bare_batches() -> None:
        for start in range(0, count, batch):
            bare.forward_batch(torch.cat([bare.input_of(im) for im in images[start:start + batch]]))

    timed = interleaved_median_ms({"ours": ours, "bare_from_images": bare_batches}, repeats)
    rates = {name: round(count / (ms / 1e3), 1) for name, ms in timed.items()}
    return {"images": count, "batch_size": batch, "repeats": repeats, "images_per_s": rates,
            "ratio_ours_vs_bare": round(rates["ours"] / rates["bare_from_images"], 2)}


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
        bare = BareCamPath(model_dir)
    result = {
        "benchmark": "inference",
        "arch": args.arch,
        "device": engine.info.device_name,
        "torch_threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "repeats": args.repeats,
        "malloc_tuning": malloc_tuned,
        "single": single_image(engine, bare, args.repeats),
        "batch": batch_throughput(engine, bare, args.images, args.batch, max(7, args.repeats // 3)),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
