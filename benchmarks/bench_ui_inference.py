"""Image shown -> probabilities and heat map shown in the window, against the bare engine, same run.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_ui_inference.py [PATH] [--arch efficientnet_lite0]
        [--repeats 7] [--model DIR]

Prints one JSON object with medians (milliseconds) of:
  ui_image_to_reading   MainWindow shows a decoded image (as on a cache hit) until the reading and
                        heat map are in the pane/canvas and the canvas has repainted: submit,
                        worker thread, engine (preprocess, forward+backward, CAM to full
                        resolution), queued hand-back, pane, overlay LUT, paint
  engine_run            InferenceEngine.run with a CAM on the UI thread (no Qt, no queueing)
  bare_forward          the model's forward pass alone on a ready tensor, no autograd
                        (the baseline: what any reading costs at least)
  bare_forward_backward forward + backward of the top logit on a ready tensor, with weight
                        gradients (a naive Grad-CAM; the engine freezes the weights and
                        backpropagates only from the logit to the CAM layer, so engine_run
                        can come out below it)
and the UI thread's responsiveness while the worker computes: a QTimer firing every 5 ms
records the largest gap between ticks (goal <= 50 ms) during each ui_image_to_reading run.
The model is a random-weight directory of the architecture given (speed does not depend on
weights) unless --model names one. Contenders alternate every repeat.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

DEFAULT_PATH = Path(__file__).resolve().parents[1].parent / "shared/data/dicom/chest_cr_mono1_j2k_lossy.dcm"
PROBE_MS = 5
TIMEOUT_MS = 120_000


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
    from PySide6.QtCore import QEventLoop, QSettings

    from cxrviewer.gui.main_window import MainWindow

    window = MainWindow(QSettings(str(settings_file), QSettings.Format.IniFormat), model_dir=model_dir)
    window.resize(1400, 900)
    window.show()
    loop = QEventLoop()
    window.ai.worker.model_loaded.connect(loop.quit)
    window.ai.worker.model_failed.connect(loop.quit)
    loop.exec()
    if window.ai.model_state != "ready":
        raise RuntimeError(f"the model in {model_dir} did not load")
    return window


def ui_image_to_reading_ms(window, shown, probe: StallProbe) -> tuple[float, float, float]:
    """Milliseconds from display to the repaint after the reading, and the longest UI stalls:
    over the whole time, and once the new image had been painted (i.e. while the model ran and
    its result was put on screen; painting a new 3.6 Mpx image is the viewer's own cost)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    marks: dict[str, float] = {}

    def on_result(_result) -> None:
        marks.setdefault("result", time.perf_counter())
        window.canvas.viewport().update()

    def on_paint() -> None:
        marks.setdefault("first_paint", time.perf_counter())
        if "result" in marks and "painted" not in marks:
            marks["painted"] = time.perf_counter()
            loop.quit()

    window.ai.resultShown.connect(on_result)
    window.canvas.base.painted.connect(on_paint)
    QTimer.singleShot(TIMEOUT_MS, loop.quit)
    probe.start()
    start = time.perf_counter()
    window._display(shown)  # what a cache hit does: image on the canvas, then the AI request
    loop.exec()
    probe.stop()
    window.ai.resultShown.disconnect(on_result)
    window.canvas.base.painted.disconnect(on_paint)
    if "painted" not in marks:
        raise RuntimeError("no reading shown within the time limit")
    return ((marks["painted"] - start) * 1e3, probe.longest_after(probe.started),
            probe.longest_after(marks["first_paint"]))


def engine_contenders(model_dir: Path, image):
    import torch

    from cxrviewer.inference.engine import InferenceEngine
    from cxrviewer.inference.requests import InferenceRequest

    engine = InferenceEngine.load(model_dir)
    x = torch.from_numpy(engine.preprocess(image).array[None]).to(engine.predictor.device)
    bare = copy.deepcopy(engine.predictor.model).requires_grad_(True)
    request = InferenceRequest(1, image=image, cam=True)

    def bare_forward() -> None:
        with torch.inference_mode():
            bare(x)

    def bare_forward_backward() -> None:
        logits = bare(x)
        bare.zero_grad(set_to_none=True)
        logits[0, logits[0].argmax()].backward()

    return {"engine_run": lambda: engine.run(request), "bare_forward": bare_forward,
            "bare_forward_backward": bare_forward_backward}, engine


def timed_ms(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--arch", default="efficientnet_lite0")
    parser.add_argument("--model", type=Path, default=None, help="a model directory instead of a random one")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)

    from PySide6.QtWidgets import QApplication

    from cxrviewer.gui.loader import LoadResult
    from cxrviewer.imaging.windowing import standard_presets
    from cxrviewer.io import load_image

    app = QApplication.instance() or QApplication([])
    image = load_image(args.path)
    shown = LoadResult(0, image.path, "display", image=image, presets=standard_presets(image))
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = args.model
        if model_dir is None:
            from cxrviewer.model.export import create_random_model_dir

            model_dir = create_random_model_dir(Path(tmp) / "model", arch=args.arch)
        window = make_window(model_dir, Path(tmp) / "bench.ini")
        contenders, engine = engine_contenders(model_dir, image)
        probe = StallProbe()
        ui_image_to_reading_ms(window, shown, probe)  # warm-up rounds, not counted
        for run in contenders.values():
            run()
        runs: dict[str, list[float]] = {"ui_image_to_reading": [], **{name: [] for name in contenders}}
        stalls: list[float] = []
        inference_stalls: list[float] = []
        for _ in range(args.repeats):
            ms, stall, inference_stall = ui_image_to_reading_ms(window, shown, probe)
            runs["ui_image_to_reading"].append(ms)
            stalls.append(stall)
            inference_stalls.append(inference_stall)
            for name, run in contenders.items():
                runs[name].append(timed_ms(run))
            app.processEvents()
        window.close()
    medians = {name: round(statistics.median(v), 1) for name, v in runs.items()}
    report = {
        "benchmark": "ui_inference",
        "file": args.path.name,
        "image_size": [image.height, image.width],
        "arch": engine.info.architecture,
        "device": engine.info.device_name,
        "repeats": args.repeats,
        "median_ms": medians,
        "ratio_ui_to_bare_forward": round(medians["ui_image_to_reading"] / medians["bare_forward"], 2),
        "ratio_ui_to_bare_forward_backward":
            round(medians["ui_image_to_reading"] / medians["bare_forward_backward"], 2),
        "ratio_ui_to_engine_run": round(medians["ui_image_to_reading"] / medians["engine_run"], 2),
        "ui_stall_ms": {
            "goal_max": 50,
            "during_inference_max": round(max(inference_stalls), 1),
            "during_inference_median": round(statistics.median(inference_stalls), 1),
            "including_new_image_paint_max": round(max(stalls), 1),
        },
        "all_ms": {name: [round(x, 1) for x in v] for name, v in runs.items()},
        "all_stalls_during_inference_ms": [round(x, 1) for x in inference_stalls],
        "all_stalls_including_paint_ms": [round(x, 1) for x in stalls],
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
