"""The UI thread's longest stall while the viewer's loader decodes a file in the background. Prints JSON.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_ui_decode_stall.py [PATH] [--repeats 7]

A QTimer fires every 5 ms on the UI thread; the largest gap between ticks while the
background loader decodes PATH (default: the JPEG 2000 chest CR) is the stall. Two
contenders alternate every repeat in one run: decoding in the decoder process (what the
viewer does) and in the loader thread itself (CXR_DECODERS=0, the baseline: JPEG 2000 and
GDCM decoders hold the GIL). Goal: at most 50 ms with the decoder process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

DEFAULT_PATH = Path(__file__).resolve().parents[1].parent / "shared/data/dicom/chest_cr_mono1_j2k_lossy.dcm"
PROBE_MS = 5


def measure(app, loader, path: Path, in_process: bool) -> float:
    from PySide6.QtCore import QTimer

    if in_process:
        os.environ["CXR_DECODERS"] = "0"
    else:
        os.environ.pop("CXR_DECODERS", None)
    gaps, last, done = [], [time.perf_counter()], []

    def tick():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(PROBE_MS)
    timer.timeout.connect(tick)
    loader.loaded.connect(lambda result: done.append(result))
    timer.start()
    loader.request(path)
    deadline = time.perf_counter() + 60
    while not done and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    loader.loaded.disconnect()
    return max(gaps) * 1e3 if gaps else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    from PySide6.QtWidgets import QApplication

    from cxrviewer.gui.loader import ImageLoader
    from cxrviewer.io.sandbox import default_pool

    app = QApplication.instance() or QApplication([])
    default_pool().load(args.path)  # start the decoders first: a one-off cost, not a stall
    loader = ImageLoader()

    results = {"decoder_process": [], "in_loader_thread": []}
    for _ in range(args.repeats):
        results["decoder_process"].append(measure(app, loader, args.path, in_process=False))
        results["in_loader_thread"].append(measure(app, loader, args.path, in_process=True))
    loader.shutdown()
    print(json.dumps({"benchmark": "ui_decode_stall", "file": args.path.name, "probe_ms": PROBE_MS,
                      **{f"max_gap_ms_{k}": round(statistics.median(v), 1) for k, v in results.items()},
                      "runs": {k: [round(x, 1) for x in v] for k, v in results.items()}}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
