"""The viewer's inference path against bare PyTorch on the same model, same run.

    python benchmarks/bench_inference.py [--arch efficientnet_lite0] [--repeats 9] [--batch 16] [--images 32]

Prints one JSON object:

* single: one decoded image (the NIH chest DICOM, 1024 x 1024) -> calibrated
  probabilities + OOD + Grad-CAM at full resolution (InferenceEngine.run),
  against a bare forward + backward of the already-preprocessed tensor; and the
  same without a CAM against a bare inference forward.
* batch: decoded cxr3 images -> results (InferenceEngine.run_many, no CAM,
  preprocessing included) against a bare batched forward of ready tensors.

The model is a random-weight directory of the chosen architecture (speed does
not depend on the weights). Contenders alternate every repeat; medians.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import tempfile
from pathlib import Path

import numpy as np
import torch

from cxrviewer.inference.engine import InferenceEngine
from cxrviewer.inference.requests import InferenceRequest
from cxrviewer.io import load_image
from cxrviewer.model.export import create_random_model_dir
from cxrviewer.resources import demo_images
from timing import interleaved_median_ms  # benchmarks/ is on sys.path when run as a script

CXR3 = Path(__file__).resolve().parents[2] / "shared" / "data" / "cxr3"


def bare_forward_backward(model: torch.nn.Module, x: torch.Tensor) -> None:
    logits = model(x)
    model.zero_grad(set_to_none=True)
    logits[0, logits[0].argmax()].backward()


def single_image(engine: InferenceEngine, repeats: int) -> dict:
    image = load_image(next(p for p in demo_images() if p.suffix == ".dcm"))
    x = torch.from_numpy(engine.preprocess(image).array[None]).to(engine.predictor.device)
    bare = copy.deepcopy(engine.predictor.model).requires_grad_(True)
    with_cam = InferenceRequest(1, image=image, cam=True)
    without_cam = InferenceRequest(2, image=image, cam=False)

    def bare_inference() -> None:
        with torch.inference_mode():
            bare(x)

    timed = interleaved_median_ms({
        "ours_with_cam": lambda: engine.run(with_cam),
        "bare_forward_backward": lambda: bare_forward_backward(bare, x),
        "ours_without_cam": lambda: engine.run(without_cam),
        "bare_forward": bare_inference,
    }, repeats)
    breakdown = {k: round(v, 2) for k, v in engine.run(with_cam).timings.items()}
    return {
        "image_size": [image.height, image.width],
        "median_ms": timed,
        "cam_overhead_vs_bare": round(timed["ours_with_cam"] / timed["bare_forward_backward"], 2),
        "no_cam_overhead_vs_bare": round(timed["ours_without_cam"] / timed["bare_forward"], 2),
        "ours_with_cam_breakdown_ms": breakdown,
    }


def batch_throughput(engine: InferenceEngine, count: int, batch: int, repeats: int) -> dict:
    paths = sorted((CXR3 / "images").rglob("*.jpg"))[:count]
    images = [load_image(p) for p in paths]
    requests = [InferenceRequest(i, image=im, cam=False) for i, im in enumerate(images)]
    tensors = torch.from_numpy(np.stack([engine.preprocess(im).array for im in images]))
    model = engine.predictor.model

    def ours() -> None:
        for start in range(0, count, batch):
            engine.run_many(requests[start:start + batch], images[start:start + batch])

    def bare() -> None:
        with torch.inference_mode():
            for start in range(0, count, batch):
                model(tensors[start:start + batch])

    timed = interleaved_median_ms({"ours": ours, "bare_forward": bare}, repeats)
    rates = {name: round(count / (ms / 1e3), 1) for name, ms in timed.items()}
    return {"images": count, "batch_size": batch, "images_per_s": rates,
            "ratio_ours_vs_bare": round(rates["ours"] / rates["bare_forward"], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="efficientnet_lite0")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--images", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = InferenceEngine.load(create_random_model_dir(Path(tmp) / "model", arch=args.arch))
    result = {
        "benchmark": "inference",
        "arch": args.arch,
        "device": engine.info.device_name,
        "torch_threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "repeats": args.repeats,
        "single": single_image(engine, args.repeats),
        "batch": batch_throughput(engine, args.images, args.batch, max(3, args.repeats // 3)),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
