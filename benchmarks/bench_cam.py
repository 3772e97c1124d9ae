"""Our Grad-CAM vs pytorch_grad_cam's GradCAM: same model, layer, input and class, same run.

    python benchmarks/bench_cam.py [--arch efficientnet_lite0] [--init imagenet|random] [--repeats 15]

Prints one JSON object: median milliseconds for each (forward + gradient + map at
input resolution, CPU unless CUDA is present), the speed ratio and the Pearson
correlation of the two maps for every method. The baseline runs in the same
process, so the ratio means something on any machine; absolute times do not.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import numpy as np
import torch
from pytorch_grad_cam import GradCAM, GradCAMPlusPlus, HiResCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from cxrviewer.io import load_image
from cxrviewer.model.architectures import build_model
from cxrviewer.model.cam import compute_cam
from cxrviewer.model.preprocess import PreprocessConfig, preprocess
from cxrviewer.model.weights import load_imagenet
from cxrviewer.resources import demo_images
from timing import interleaved_median_ms  # benchmarks/ is on sys.path when run as a script

REFERENCE = {"gradcam": GradCAM, "gradcam++": GradCAMPlusPlus, "hirescam": HiResCAM}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="efficientnet_lite0")
    parser.add_argument("--init", choices=("imagenet", "random"), default="imagenet")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--image", type=Path, default=None, help="default: the bundled PNG demo chest X-ray")
    args = parser.parse_args()

    torch.manual_seed(0)
    model = build_model(args.arch, 3)
    imagenet = args.init == "imagenet" and load_imagenet(model)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = model.to(device).eval()
    image_path = args.image or next(p for p in demo_images() if p.suffix == ".png")
    x = torch.from_numpy(preprocess(load_image(image_path), PreprocessConfig()).array[None]).to(device)
    layer_name = model.cam_target_layer
    layer = model.get_submodule(layer_name)
    target = compute_cam(model, x, layer_name).class_indices[0]

    methods = {}
    for method, reference_class in REFERENCE.items():
        with reference_class(model=model, target_layers=[layer]) as reference:
            def run_reference():
                return reference(input_tensor=x, targets=[ClassifierOutputTarget(target)])

            def run_ours():
                return compute_cam(model, x, layer_name, method, target).maps

            theirs_map, ours_map = run_reference()[0], run_ours()[0]
            timed = interleaved_median_ms({"ours": run_ours, "theirs": run_reference}, args.repeats)
            ours_ms, theirs_ms = timed["ours"], timed["theirs"]
        methods[method] = {
            "ours_median_ms": round(ours_ms, 2),
            "pytorch_grad_cam_median_ms": round(theirs_ms, 2),
            "speedup": round(theirs_ms / ours_ms, 2),
            "pearson": round(float(np.corrcoef(ours_map.ravel(), theirs_map.ravel())[0, 1]), 6),
        }
    print(json.dumps({
        "benchmark": "cam",
        "arch": args.arch,
        "weights": "imagenet" if imagenet else "random",
        "target_layer": layer_name,
        "input": list(x.shape),
        "image": image_path.name,
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "repeats": args.repeats,
        "methods": methods,
    }, indent=2))


if __name__ == "__main__":
    main()
