"""`cxr predict` on one image: wall time, its fixed cost, and peak memory, against the runtime's bare floor.

    python benchmarks/bench_predict_startup.py [--repeats 7] [--image FILE] [--cam]

Each run is a fresh process (`python -m cxrviewer.cli.main predict FILE --json`, the
bundled model); the contenders alternate every repeat so load from other jobs hits
them alike. Prints JSON with medians:

  wall_s            process launch -> exit
  fixed_cost_s      wall time less the image's own work as the JSON line reports it
                    (load_ms + total_ms: decoding, lung fields, preprocessing, forward,
                    CAM): interpreter start, imports, model load, exit (the first decoder
                    starts during the torch import and is no longer in load_ms)
  peak_rss_mb       the process's peak resident memory (ru_maxrss from wait4)
  minor_page_faults pages faulted in (ru_minflt): what the malloc thresholds change
Contenders: `import torch` alone (the floor of any process holding the model on PyTorch);
`import onnxruntime` and the bundled graph loaded into a bare session (the floor of any
process holding it on ONNX Runtime, which `cxr predict` uses on the CPU); `cxr predict` as
shipped; `cxr predict` on PyTorch (CXR_ENGINE=torch); and `cxr predict` with glibc's malloc
defaults (CXR_MALLOC_TUNING=0, see cxrviewer/malloc_tuning.py).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_IMAGE = Path(__file__).resolve().parents[1].parent / "shared/data/dicom/chest_dx_mono2_uncompressed.dcm"


def run(command: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """(wall s, peak RSS MiB, minor page faults, stdout) of one process (stderr to a file: no pipe to fill)."""
    with tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, text=True, env=env)
        out = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)  # not process.wait(): wait4 gives this child's rusage
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        process.stdout.close()
        if process.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{command[2:4]} exited with {process.returncode}:\n{err.read()[-2000:]}")
    return wall, usage.ru_maxrss / 1024, usage.ru_minflt, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--image", type=Path, default=DEFAULT_IMAGE)
    parser.add_argument("--cam", action="store_true", help="also write a heat map (--cam-dir)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    base_env = dict(os.environ)
    base_env.pop("CXR_MALLOC_TUNING", None)
    predict = [sys.executable, "-m", "cxrviewer.cli.main", "predict", str(args.image), "--json"]
    if args.cam:
        predict += ["--cam-dir", tempfile.mkdtemp(prefix="bench-predict-")]
    from cxrviewer.resources import bundled_model_dir

    bare_session = ("import onnxruntime; onnxruntime.InferenceSession("
                    f"{str(bundled_model_dir() / 'model.onnx')!r}, providers=['CPUExecutionProvider'])")
    base_env.pop("CXR_ENGINE", None)
    contenders = {
        "import_torch": ([sys.executable, "-c", "import torch"], base_env),
        "import_onnxruntime_and_load_graph": ([sys.executable, "-c", bare_session], base_env),
        "cxr_predict": (predict, base_env),
        "cxr_predict_on_torch": (predict, {**base_env, "CXR_ENGINE": "torch"}),
        "cxr_predict_glibc_malloc_defaults": (predict, {**base_env, "CXR_MALLOC_TUNING": "0"}),
    }
    for command, env in contenders.values():
        run(command, env)  # warm the OS file cache
    wall: dict[str, list[float]] = {name: [] for name in contenders}
    rss: dict[str, list[float]] = {name: [] for name in contenders}
    faults: dict[str, list[float]] = {name: [] for name in contenders}
    fixed: dict[str, list[float]] = {name: [] for name in contenders if name.startswith("cxr_")}
    for _ in range(args.repeats):
        for name, (command, env) in contenders.items():
            seconds, peak, minflt, out = run(command, env)
            wall[name].append(seconds)
            rss[name].append(peak)
            faults[name].append(minflt)
            if name in fixed:
                record = json.loads(out.strip().splitlines()[-1])
                own_ms = record["timings"]["load_ms"] + record["timings"]["total_ms"]
                fixed[name].append(seconds - own_ms / 1e3)
    med = lambda values: round(statistics.median(values), 3)  # noqa: E731
    print(json.dumps({
        "benchmark": "predict_startup",
        "image": args.image.name,
        "cam": args.cam,
        "repeats": args.repeats,
        "wall_s": {name: med(v) for name, v in wall.items()},
        "fixed_cost_s": {name: med(v) for name, v in fixed.items()},
        "peak_rss_mb": {name: round(statistics.median(v), 1) for name, v in rss.items()},
        "minor_page_faults": {name: int(statistics.median(v)) for name, v in faults.items()},
        "ratio_predict_to_import_torch": round(med(wall["cxr_predict"]) / med(wall["import_torch"]), 2),
        "ratio_predict_to_bare_onnxruntime": round(med(wall["cxr_predict"])
                                                   / med(wall["import_onnxruntime_and_load_graph"]), 2),
        "ratio_predict_on_torch_to_import_torch": round(med(wall["cxr_predict_on_torch"]) / med(wall["import_torch"]), 2),
        "ratio_tuned_to_glibc_defaults": round(med(wall["cxr_predict"])
                                               / med(wall["cxr_predict_glibc_malloc_defaults"]), 2),
        "all_wall_s": {name: [round(x, 3) for x in v] for name, v in wall.items()},
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
