"""Cold start to a shown window and to a usable AI, and peak memory with the large chest DICOM read by the AI.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_startup.py [--repeats 7] [--memory-repeats 3] [--model DIR]

Each measurement is a fresh Python process (so imports are cold for the interpreter;
the OS file cache is warm after the first round, which is not counted); the
contenders alternate every repeat, so load from other jobs hits them alike. Prints JSON:

  window_shown_s      process launch -> MainWindow shown and painted (median), next to
                      the baseline: process launch -> a bare QMainWindow shown; and the
                      viewer with the garbage collector left on through start-up
                      (CXR_STARTUP_GC=1, see cxrviewer/startup_gc.py)
  ai_usable_s         process launch -> the model loaded in the worker and its "ready"
                      reached the window (a request sent now is analysed at once), next
                      to the baseline for the runtime the viewer used: process launch ->
                      `import onnxruntime; import PySide6` done and the model's graph
                      loaded into a bare session (ONNX Runtime, the default on the CPU), or
                      -> `import torch; import PySide6` done (PyTorch: CXR_ENGINE=torch), the
                      least any process holding the model in-process can take; both are
                      reported
  torch_imported_when_shown  whether torch was already imported at that moment (must be
                      false: the model loads in the background)
  peak_rss_mb         the process's peak resident memory after opening the 1955 x 1841
                      chest CR and showing its AI reading and heat map, next to a process
                      doing the same work bare (like for like): a bare Qt window shown,
                      torch imported, the same classifier and lung model loaded from the
                      same weights, the image decoded and read once by bare PyTorch
                      (benchmarks/same_work.py: probabilities, Grad-CAM on the full image,
                      lung mask), so the difference is what the viewer adds (median of
                      --memory-repeats interleaved pairs). Only the measured process
                      counts: the viewer decodes in its decoder process, which is left
                      out, while the baseline decodes in-process
The model: --model DIR, else the bundled model if installed, else a random-weight
efficientnet_lite0 directory (what is being trained; memory does not depend on weights).
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

CHEST_CR = Path(__file__).resolve().parents[1].parent / "shared/data/dicom/chest_cr_mono1_j2k_lossy.dcm"
BENCHMARKS = Path(__file__).resolve().parent
CHILD_TIMEOUT_S = 300

# The child: build the window, report when it is shown and when the AI is ready, optionally
# open an image and wait for its reading. Times are time.time() stamps; the parent subtracts
# the moment it launched the process.
CHILD = r"""
import json, sys, time
BENCHMARKS = sys.argv[4]
mode, model, image = sys.argv[1], sys.argv[2], sys.argv[3]
if mode == "imports":
    import torch
    import PySide6.QtWidgets
    print(json.dumps({"ready_at": time.time()}), flush=True)
    raise SystemExit(0)
if mode == "imports_onnx":
    import onnxruntime
    import PySide6.QtWidgets
    onnxruntime.InferenceSession(model + "/model.onnx", providers=["CPUExecutionProvider"])
    print(json.dumps({"ready_at": time.time()}), flush=True)
    raise SystemExit(0)
if mode != "bare":
    from cxrviewer.startup_gc import pause_collection
    pause_collection()  # as cxrviewer.gui.app.main does first; the window's first paint resumes it
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication([])
if mode == "bare":
    window = QMainWindow()
else:
    from pathlib import Path
    from PySide6.QtCore import QSettings
    from cxrviewer.gui.main_window import MainWindow
    from cxrviewer.gui.theme import apply_dark_theme
    import tempfile
    apply_dark_theme(app)
    window = MainWindow(QSettings(tempfile.mktemp(suffix=".ini"), QSettings.Format.IniFormat),
                        model_dir=Path(model) if model != "-" else None)
    usable = {}
    def ready(*_):
        usable.setdefault("ai_usable_at", time.time())
        usable["torch_imported_when_ready"] = "torch" in sys.modules
        usable["model_state"] = window.ai.model_state
        loop.quit()
    loop = QEventLoop()
    window.ai.worker.model_loaded.connect(ready)
    window.ai.worker.model_failed.connect(ready)
window.resize(1400, 900)
window.show()
app.processEvents()
window.repaint()
shown = {"shown_at": time.time(), "torch_imported_when_shown": "torch" in sys.modules}
if mode != "bare":
    if not usable:
        QTimer.singleShot(240_000, loop.quit)
        loop.exec()
    shown.update(usable)
if image != "-" and mode != "bare":
    loop = QEventLoop()
    done = lambda *_: loop.quit()
    window.ai.resultShown.connect(done)
    window.ai.worker.error.connect(done)
    window.ai.worker.model_failed.connect(done)
    QTimer.singleShot(240_000, loop.quit)
    window.open_paths([image], remember=False)
    loop.exec()
    shown["reading_shown"] = window.ai.current_result is not None
    shown["cam_computed"] = window.canvas.cam.has_map()
elif image != "-":
    # Like for like: the viewer holds torch, both models and the decoded image, and reads it once.
    from pathlib import Path
    sys.path.insert(0, BENCHMARKS)
    from same_work import BareCamPath
    from cxrviewer.io import load_image
    bare = BareCamPath(Path(model), with_lungs=True)
    decoded = load_image(image)
    reading = bare.run_image(decoded)
    shown["reading_shown"] = reading["probabilities"] is not None
    shown["cam_computed"] = reading["cam"].shape == decoded.pixels.shape
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the parent (here a process with torch loaded).
status = open("/proc/self/status").read().split("VmHWM:")[1].split()[0]
shown["peak_rss_mb"] = int(status) / 1024
window.close()
print(json.dumps(shown), flush=True)
"""


def run_child(mode: str, model: str = "-", image: str = "-", **env_extra: str) -> dict:
    """The child's report with its stamps turned into seconds since launch (``*_s``)."""
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"), **env_extra)
    start = time.time()
    done = subprocess.run([sys.executable, "-c", CHILD, mode, model, image, str(BENCHMARKS)], capture_output=True,
                          text=True, timeout=CHILD_TIMEOUT_S, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{mode} child failed:\n{done.stderr[-2000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    for key in [k for k in report if k.endswith("_at")]:
        report[key[:-3] + "_s"] = report.pop(key) - start
    return report


def pick_model(given: Path | None, tmp: Path) -> Path:
    if given is not None:
        return given
    from cxrviewer.resources import bundled_model_dir

    if (bundled_model_dir() / "model.json").is_file():
        return bundled_model_dir()
    from cxrviewer.model.export import create_random_model_dir

    return create_random_model_dir(tmp / "random-lite0", arch="efficientnet_lite0")


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--memory-repeats", type=int, default=3)
    parser.add_argument("--model", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.memory_repeats < 1:
        parser.error("--repeats and --memory-repeats must be at least 1")
    with tempfile.TemporaryDirectory() as tmp:
        model = str(pick_model(args.model, Path(tmp)))
        onnx = (Path(model) / "model.onnx").is_file()
        run_child("bare"), run_child("imports"), run_child("viewer", model)  # warm the OS file cache
        times: dict[str, list[float]] = {"bare_qt_window_shown": [], "import_torch_and_pyside6": [],
                                         "import_onnxruntime_pyside6_and_load_graph": [],
                                         "viewer_shown": [], "viewer_ai_usable": [],
                                         "viewer_shown_collector_on": []}
        torch_at_show, torch_at_ready, states = [], [], set()
        for _ in range(args.repeats):  # interleaved, so background load hits every contender alike
            times["bare_qt_window_shown"].append(run_child("bare")["shown_s"])
            times["import_torch_and_pyside6"].append(run_child("imports")["ready_s"])
            if onnx:
                times["import_onnxruntime_pyside6_and_load_graph"].append(run_child("imports_onnx", model)["ready_s"])
            report = run_child("viewer", model)
            times["viewer_shown"].append(report["shown_s"])
            times["viewer_ai_usable"].append(report["ai_usable_s"])
            torch_at_show.append(report["torch_imported_when_shown"])
            torch_at_ready.append(report["torch_imported_when_ready"])
            states.add(report["model_state"])
            times["viewer_shown_collector_on"].append(run_child("viewer", model, CXR_STARTUP_GC="1")["shown_s"])
        memory: dict[str, list[dict]] = {"baseline": [], "viewer": []}
        for _ in range(args.memory_repeats):
            memory["baseline"].append(run_child("bare", model, str(CHEST_CR)))
            memory["viewer"].append(run_child("viewer", model, str(CHEST_CR)))
    peak = {name: _median([r["peak_rss_mb"] for r in reports]) for name, reports in memory.items()}
    baseline_mem, viewer_mem = memory["baseline"][-1], memory["viewer"][-1]
    medians = {name: _median(v) for name, v in times.items() if v}
    runtime = ("import_onnxruntime_pyside6_and_load_graph" if onnx and not any(torch_at_ready)
               else "import_torch_and_pyside6")
    print(json.dumps({
        "benchmark": "startup",
        "model": Path(model).name,
        "repeats": args.repeats,
        "window_shown_s": {"viewer": medians["viewer_shown"], "bare_qt_window": medians["bare_qt_window_shown"],
                           "ratio_viewer_to_bare": round(medians["viewer_shown"] / medians["bare_qt_window_shown"],
                                                         2),
                           "viewer_collector_on_throughout": medians["viewer_shown_collector_on"],
                           "ratio_viewer_to_collector_on": round(medians["viewer_shown"]
                                                                 / medians["viewer_shown_collector_on"], 2)},
        "ai_usable_s": {"viewer": medians["viewer_ai_usable"],
                        "import_torch_and_pyside6": medians["import_torch_and_pyside6"],
                        "import_onnxruntime_pyside6_and_load_graph":
                            medians.get("import_onnxruntime_pyside6_and_load_graph"),
                        "baseline": runtime,
                        "ratio_viewer_to_baseline": round(medians["viewer_ai_usable"] / medians[runtime], 2),
                        "model_state": sorted(states)},
        "torch_imported_when_shown": any(torch_at_show),
        "torch_imported_when_ai_ready": any(torch_at_ready),
        "peak_rss_mb": {"note": "the baseline holds torch and its models (bare PyTorch); the viewer on ONNX "
                                "Runtime holds no torch, so it can be far below it",
                        "bare_same_work": round(peak["baseline"], 1),
                        "viewer_with_chest_cr_read_by_ai": round(peak["viewer"], 1),
                        "viewer_minus_baseline": round(peak["viewer"] - peak["baseline"], 1),
                        "ratio_viewer_to_baseline": round(peak["viewer"] / peak["baseline"], 2),
                        "image": CHEST_CR.name,
                        "memory_repeats": args.memory_repeats,
                        "all": {name: [round(r["peak_rss_mb"], 1) for r in reports] for name, reports in memory.items()},
                        "reading_done": {"viewer": viewer_mem.get("reading_shown"),
                                         "baseline": baseline_mem.get("reading_shown")},
                        "cam_computed": {"viewer": viewer_mem.get("cam_computed"),
                                         "baseline": baseline_mem.get("cam_computed")}},
        "all_s": {name: [round(x, 3) for x in v] for name, v in times.items()},
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
