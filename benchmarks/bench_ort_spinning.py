"""`cxr predict` on many films with ONNX Runtime's thread spin-waiting off (as shipped) and on.

    python benchmarks/bench_ort_spinning.py [--images 64] [--repeats 5]

cxrviewer creates its ONNX Runtime sessions with ``session.intra_op.allow_spinning`` off
(cxrviewer/model/onnx_runtime.py): each film runs the lung model, then the classifier, with
Python work between them, and on a 2-core machine the idle threads of one session spinning
after its run slow the next. ``CXR_ORT_SPIN=1`` restores ONNX Runtime's default. Both
contenders are fresh `cxr predict` processes on the same cxr3 test films, alternating every
repeat (medians). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_predict_startup import run  # noqa: E402

CXR3 = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cxr3"


def test_films(count: int) -> list[str]:
    with open(CXR3 / "labels.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"] == "test"]
    return [str(CXR3 / r["path"]) for r in rows[:count]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    films = test_films(args.images)
    command = [sys.executable, "-m", "cxrviewer.cli.main", "predict", *films, "--json"]
    env = {k: v for k, v in os.environ.items() if k not in ("CXR_ORT_SPIN", "CXR_ENGINE")}
    contenders = {"spinning_off_as_shipped": env, "spinning_on_ort_default": {**env, "CXR_ORT_SPIN": "1"}}
    for contender_env in contenders.values():
        run(command, contender_env)  # warm the OS file cache
    wall: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.repeats):
        for name, contender_env in contenders.items():
            wall[name].append(run(command, contender_env)[0])
    median = {name: round(statistics.median(v), 3) for name, v in wall.items()}
    print(json.dumps({
        "benchmark": "ort_spinning", "images": len(films), "repeats": args.repeats, "cpus": os.cpu_count(),
        "wall_s": median,
        "ratio_off_to_on": round(median["spinning_off_as_shipped"] / median["spinning_on_ort_default"], 3),
        "all_wall_s": {name: [round(x, 3) for x in v] for name, v in wall.items()},
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
