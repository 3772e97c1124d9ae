"""Opening real files in the viewer until their AI reading is painted, against bare code doing the same work.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_ui_inference.py [PATH ...] [--repeats 7]
        [--arch efficientnet_lite0] [--model DIR]

Each round opens every file (default: the shared chest and hip DICOMs: JPEG 2000 decoded by
pylibjpeg, JPEG lossless and JPEG-LS decoded by GDCM, RLE, uncompressed) in one real
MainWindow whose model has loaded: the list is emptied first (close_all, so no decoded image
or reading is reused) and then ``open_paths([file])``: list row, loader thread, decoder
process, thumbnail, hand-back, setImage, first paint, the AI request (lung fields, preprocess,
forward, Grad-CAM to full resolution), hand-back, results pane, overlay, repaint.

Prints one JSON object with, per file and over all files, medians (ms) of contenders that
alternate every round:
  ui_first_pixels        open -> the new image's first paint
  ui_open_to_reading     open -> the repaint after its reading and heat map were shown
  bare_file_to_reading   the baseline (benchmarks/same_work.py): pydicom decode with the
                         plugin the loader uses, Modality LUT, first window, then bare
                         PyTorch from the film: preprocessing, a forward with frozen weights,
                         ``torch.autograd.grad`` from the logit to the CAM layer only, the
                         map on the full image, and the lung mask (lung model forward, mask
                         on the full image): the same work in one thread, no Qt
  bare_decode            its decode part (the floor for ui_first_pixels)
and the UI thread's longest stall: a QTimer heartbeat every 5 ms records the largest gap
between ticks from the moment of the open until the reading is painted, the gap before
the first paint included (``stall_ms``; goal <= 50 ms), and separately after the first
paint (``stall_after_first_paint_ms``: while the model ran and its result went on screen).
With a model that runs on ONNX Runtime (--model resources/models/cxr3-default: the bundled
model has its graphs) a second baseline, ``bare_onnx_file_to_reading``, does the same work
with bare onnxruntime sessions on the same graphs (same_work.BareOnnxPath): the floor of
the viewer's own runtime, so that ratio is the viewer's overhead.
The model is a random-weight directory of the architecture given (speed does not depend
on weights; it has no graph, so the viewer runs PyTorch) unless --model names one.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cxrviewer.malloc_tuning import tune_malloc  # noqa: E402

log = logging.getLogger("bench_ui_inference")
DICOM = Path(__file__).resolve().parents[1].parent / "shared/data/dicom"
DEFAULT_FILES = ("chest_cr_mono1_j2k_lossy.dcm", "chest_dx_mono2_uncompressed.dcm", "hip_cr_jpeg_lossless.dcm",
                 "hip_cr_jpegls_lossless.dcm", "hip_cr_j2k_lossless.dcm", "hip_cr_rle.dcm")
PROBE_MS = 5
TIMEOUT_MS = 120_000
STALL_GOAL_MS = 50


class StallProbe:
    """A 5 ms QTimer on the UI thread; the largest gap between its ticks is the longest freeze."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.timer = QTimer()
        self.timer.setInterval(PROBE_MS)
        self.timer.timeout.connect(self._tick)
        self.gaps: list[tuple[float, float]] = []  # (tick time, ms since the previous tick)
        self._last = 0.0

    def start(self) -> None:
        self.gaps.clear()
        self.started = self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        self._tick()

    def longest_after(self, since: float) -> float:
        """The largest gap that began at or after ``since`` (perf_counter seconds)."""
        return max((gap for at, gap in self.gaps if at - gap / 1e3 >= since), default=0.0)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append((now, (now - self._last) * 1e3))
        self._last = now


def make_window(model_dir: Path, settings_file: Path):
    from PySide6.QtCore import QEventLoop, QSettings, QTimer

    from cxrviewer.gui.main_window import MainWindow

    window = MainWindow(QSettings(str(settings_file), QSettings.Format.IniFormat), model_dir=model_dir)
    window.resize(1400, 900)
    window.show()
    loop = QEventLoop()
    window.ai.worker.model_loaded.connect(loop.quit)
    window.ai.worker.model_failed.connect(loop.quit)
    QTimer.singleShot(TIMEOUT_MS, loop.quit)
    loop.exec()
    if window.ai.model_state != "ready":
        raise RuntimeError(f"the model in {model_dir} did not load")
    return window


def open_to_reading(window, path: Path, probe: StallProbe) -> dict[str, float]:
    """One real open: ms to the first paint and to the repaint after the reading; the longest stalls."""
    from PySide6.QtCore import QEventLoop, QTimer

    window.close_all()
    loop = QEventLoop()
    marks: dict[str, float] = {}

    def on_result(_result) -> None:
        marks.setdefault("result", time.perf_counter())
        window.canvas.viewport().update()

    def on_paint() -> None:
        image = window.canvas.image
        if image is None or image.path != path:
            return
        now = time.perf_counter()
        marks.setdefault("first_paint", now)
        if "result" in marks and "painted" not in marks:
            marks["painted"] = now
            loop.quit()

    window.ai.resultShown.connect(on_result)
    window.canvas.base.painted.connect(on_paint)
    timeout = QTimer()
    timeout.setSingleShot(True)
    timeout.timeout.connect(loop.quit)
    timeout.start(TIMEOUT_MS)
    probe.start()
    start = time.perf_counter()
    window.open_paths([path], remember=False)
    loop.exec()
    probe.stop()
    timeout.stop()
    window.ai.resultShown.disconnect(on_result)
    window.canvas.base.painted.disconnect(on_paint)
    if "painted" not in marks:
        raise RuntimeError(f"{path.name}: no reading painted within {TIMEOUT_MS / 1000:.0f} s")
    return {"ui_first_pixels": (marks["first_paint"] - start) * 1e3,
            "ui_open_to_reading": (marks["painted"] - start) * 1e3,
            "stall": probe.longest_after(probe.started),
            "stall_after_first_paint": probe.longest_after(marks["first_paint"])}


def bare_file_to_reading(bare, path: Path, plugin: str, onnx=None) -> dict[str, float]:
    start = time.perf_counter()
    result = bare.run_file(path, plugin)
    times = {"bare_file_to_reading": (time.perf_counter() - start) * 1e3, "bare_decode": result["decode_ms"]}
    if onnx is not None:
        start = time.perf_counter()
        onnx.run_file(path, plugin)
        times["bare_onnx_file_to_reading"] = (time.perf_counter() - start) * 1e3
    return times


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 1)


def summarise(name: str, runs: dict[str, list[float]]) -> dict:
    medians = {key: _median(v) for key, v in runs.items() if v and key not in ("stall", "stall_after_first_paint")}
    onnx = {}
    if "bare_onnx_file_to_reading" in medians:
        onnx["ratio_ui_open_to_reading_vs_bare_onnx"] = round(
            medians["ui_open_to_reading"] / medians["bare_onnx_file_to_reading"], 2)
    return {
        "file": name,
        "median_ms": medians,
        "ratio_ui_open_to_reading_vs_bare": round(medians["ui_open_to_reading"] / medians["bare_file_to_reading"], 2),
        **onnx,
        "ratio_ui_first_pixels_vs_bare_decode": round(medians["ui_first_pixels"] / medians["bare_decode"], 2),
        "stall_ms": {"max": round(max(runs["stall"]), 1), "median": _median(runs["stall"])},
        "stall_after_first_paint_ms": {"max": round(max(runs["stall_after_first_paint"]), 1),
                                       "median": _median(runs["stall_after_first_paint"])},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, default=[DICOM / name for name in DEFAULT_FILES])
    parser.add_argument("--arch", default="efficientnet_lite0")
    parser.add_argument("--model", type=Path, default=None, help="a model directory instead of a random one")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    malloc_tuned = tune_malloc()  # as the cxr and cxrviewer executables do at start-up

    from PySide6.QtWidgets import QApplication

    from same_work import BareCamPath, BareOnnxPath, loader_plugin

    from cxrviewer.model.onnx_runtime import intra_op_threads
    from cxrviewer.model.onnx_runtime_files import lists_runtime_graph

    app = QApplication.instance() or QApplication([])
    plugins = {path: loader_plugin(path) for path in args.paths}
    keys = ("ui_first_pixels", "ui_open_to_reading", "stall", "stall_after_first_paint", "bare_file_to_reading",
            "bare_decode", "bare_onnx_file_to_reading")
    runs = {path: {key: [] for key in keys} for path in args.paths}
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = args.model
        if model_dir is None:
            from cxrviewer.model.export import create_random_model_dir

            model_dir = create_random_model_dir(Path(tmp) / "model", arch=args.arch)
        window = make_window(model_dir, Path(tmp) / "bench.ini")
        bare = BareCamPath(model_dir, with_lungs=True)
        onnx = (BareOnnxPath(Path(model_dir), intra_op_threads(), with_lungs=True)
                if window.ai.model_info.forward_form == "onnxruntime" and lists_runtime_graph(model_dir) else None)
        probe = StallProbe()
        for path in args.paths:  # warm-up round, not counted: decoder start, codec imports, allocator
            open_to_reading(window, path, probe)
            bare_file_to_reading(bare, path, plugins[path], onnx)
        for round_index in range(args.repeats):  # interleaved, so background load hits both alike
            for path in args.paths:
                for key, value in {**open_to_reading(window, path, probe),
                                   **bare_file_to_reading(bare, path, plugins[path], onnx)}.items():
                    runs[path][key].append(value)
                app.processEvents()
            log.info("round %d/%d done", round_index + 1, args.repeats)
        arch = window.ai.model_info.architecture
        form = window.ai.model_info.forward_form
        window.close()
    files = [{**summarise(path.name, runs[path]), "codec": plugins[path]} for path in args.paths]
    total = {key: round(sum(f["median_ms"][key] for f in files), 1)
             for key in ("ui_first_pixels", "ui_open_to_reading", "bare_file_to_reading", "bare_decode",
                         "bare_onnx_file_to_reading") if key in files[0]["median_ms"]}
    stalls = [v for path in args.paths for v in runs[path]["stall"]]
    after_paint = [v for path in args.paths for v in runs[path]["stall_after_first_paint"]]
    report = {
        "benchmark": "ui_inference",
        "arch": arch,
        "forward_form": form,
        "repeats": args.repeats,
        "malloc_tuning": malloc_tuned,
        "probe_ms": PROBE_MS,
        "stall_goal_ms": STALL_GOAL_MS,
        # Sums of the per-file medians (one open of each file), and the stalls over every open.
        "headline": {
            "files": len(files),
            "sum_of_medians_ms": total,
            "ratio_ui_open_to_reading_vs_bare": round(total["ui_open_to_reading"] / total["bare_file_to_reading"], 2),
            "ratio_ui_first_pixels_vs_bare_decode": round(total["ui_first_pixels"] / total["bare_decode"], 2),
            **({"ratio_ui_open_to_reading_vs_bare_onnx": round(
                total["ui_open_to_reading"] / total["bare_onnx_file_to_reading"], 2)}
               if "bare_onnx_file_to_reading" in total else {}),
            "stall_max_ms": round(max(stalls), 1),
            "stall_median_ms": _median(stalls),
            "stall_after_first_paint_max_ms": round(max(after_paint), 1),
            "worst_file_by_stall": max(files, key=lambda f: f["stall_ms"]["max"])["file"],
        },
        "files": files,
        "all_ms": {path.name: {key: [round(x, 1) for x in v] for key, v in runs[path].items()} for path in args.paths},
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
