"""Time from a path to the first pixels painted in the viewer, next to a bare pydicom decode.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_first_pixels.py [PATH] [--repeats N]

Prints JSON with median milliseconds of contenders that alternate every repeat:
  pydicom_same_codec  the baseline: pydicom.dcmread(path).pixel_array forced onto the plugin
                      load_image decodes this file with (benchmarks/same_work.py)
  pydicom_default     the same with pydicom's own plugin order (GDCM first), only where
                      that picks another plugin: the codec choice, reported as its own line
  load_image          cxrviewer.io.load_image(path) (decode + Modality LUT + windows + header)
  first_pixels        MainWindow.open_paths([path]) until the base ImageItem has painted:
                      list row, loader thread, decoder process, thumbnail, hand-back,
                      setImage, paint
and the ratios of the last two to the same-codec baseline. Each repeat uses a fresh window,
so no cache is involved; window construction itself is not timed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from same_work import loader_plugin, pydicom_decode, pydicom_default_plugin  # noqa: E402

from cxrviewer.malloc_tuning import tune_malloc  # noqa: E402

DEFAULT_PATH = Path(__file__).resolve().parents[1].parent / "shared/data/dicom/chest_cr_mono1_j2k_lossy.dcm"
PAINT_TIMEOUT_MS = 60_000


def time_ms(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000.0


def bare_decode_ms(path: Path, plugin: str) -> float:
    return time_ms(lambda: pydicom_decode(path, plugin))


def load_image_ms(path: Path) -> float:
    from cxrviewer.io import load_image

    return time_ms(lambda: load_image(path))


def first_pixels_ms(path: Path, settings_file: Path) -> float:
    from PySide6.QtCore import QEventLoop, QSettings, QTimer

    from cxrviewer.gui.main_window import MainWindow

    window = MainWindow(QSettings(str(settings_file), QSettings.Format.IniFormat))
    window.resize(1400, 900)
    window.show()
    loop = QEventLoop()
    painted_at: list[float] = []

    def on_paint() -> None:
        if window.canvas.image is not None and not painted_at:
            painted_at.append(time.perf_counter())
            loop.quit()

    window.canvas.base.painted.connect(on_paint)
    QTimer.singleShot(PAINT_TIMEOUT_MS, loop.quit)
    start = time.perf_counter()
    window.open_paths([path], remember=False)
    loop.exec()
    window.close()
    window.deleteLater()
    if not painted_at:
        raise RuntimeError(f"no pixels painted within {PAINT_TIMEOUT_MS / 1000:.0f} s")
    return (painted_at[0] - start) * 1000.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)

    from PySide6.QtWidgets import QApplication

    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    malloc_tuned = tune_malloc()  # as the cxr and cxrviewer executables do at start-up
    app = QApplication.instance() or QApplication([])
    ours, default = loader_plugin(args.path), pydicom_default_plugin(args.path)
    contenders = {"pydicom_same_codec": lambda: bare_decode_ms(args.path, ours)}
    if default != ours:
        contenders["pydicom_default"] = lambda: bare_decode_ms(args.path, default)
    with tempfile.TemporaryDirectory() as tmp:
        settings_file = Path(tmp) / "bench.ini"
        contenders["load_image"] = lambda: load_image_ms(args.path)
        contenders["first_pixels"] = lambda: first_pixels_ms(args.path, settings_file)
        for run in contenders.values():  # one untimed round each: imports, codec set-up, decoder start
            run()
        runs: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(args.repeats):  # interleaved, so background load hits every contender alike
            for name, run in contenders.items():
                runs[name].append(run())
            app.processEvents()
    medians = {name: round(statistics.median(v), 1) for name, v in runs.items()}
    codec = {"ours": ours, "pydicom_default": default}
    if default != ours:
        codec["ratio_ours_to_default"] = round(medians["pydicom_same_codec"] / medians["pydicom_default"], 2)
    report = {
        "benchmark": "first_pixels",
        "file": args.path.name,
        "repeats": args.repeats,
        "malloc_tuning": malloc_tuned,
        "median_ms": medians,
        "ratio_load_image_to_same_codec": round(medians["load_image"] / medians["pydicom_same_codec"], 2),
        "ratio_first_pixels_to_same_codec": round(medians["first_pixels"] / medians["pydicom_same_codec"], 2),
        "codec_choice": codec,
        "all_ms": {name: [round(x, 1) for x in v] for name, v in runs.items()},
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
