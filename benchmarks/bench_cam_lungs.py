"""Where do the heat maps point? cam_in_lungs and the pointing game per model and CAM method. Prints JSON.

    python benchmarks/bench_cam_lungs.py --model bundled=resources/models/cxr3-default \\
        [--model other=DIR ...] [--data ../shared/data/lungs/labels.csv] [--split test] [--out FILE]

On the lungs `test` split (never used to train the classifiers or the lung model):
per model and method, the mean share of the map's mass inside the drawn lung fields
(predicted class; target >= 0.80 for Grad-CAM) and the pointing game on the COVID-19
infection masks (true class; target >= 0.75). Same code as `cxr evaluate --cam-quality`.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from cxrviewer.inference.engine import InferenceEngine  # noqa: E402
from training.cam_quality import cam_quality, read_mask_manifest  # noqa: E402

log = logging.getLogger("bench_cam_lungs")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", required=True, metavar="NAME=DIR")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "lungs" / "labels.csv")
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, default=0, help="first N images only (smoke runs)")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    items = read_mask_manifest(args.data, args.split)
    if args.limit:
        items = items[: args.limit]
    report = {"benchmark": "cam_lungs", "split": args.split, "images": len(items),
              "with_infection_mask": sum(i.infection_mask is not None for i in items),
              "torch": torch.__version__, "threads": torch.get_num_threads(), "machine": platform.machine(),
              "models": {}}
    for spec in args.model:
        name, _, folder = spec.partition("=")
        engine = InferenceEngine.load(folder, device="cpu")
        log.info("%s: %s", name, folder)
        report["models"][name] = {
            "dir": folder,
            "lung_crop": engine.predictor.needs_lungs,
            **cam_quality(engine, items, progress=lambda d, t: d % 50 == 0 and log.info("%d/%d", d, t)),
        }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
