"""Time from a path to the first pixels painted in the viewer, next to a bare pydicom decode.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_first_pixels.py [PATH] [--repeats N]

Prints JSON with median milliseconds of:
  pydicom_decode      pydicom.dcmread(path).pixel_array (the baseline, same run)
  load_image          cxrviewer.io.load_image(path) (decode + Modality LUT + windows + header)
  first_pixels        MainWindow.open_paths([path]) until the base ImageItem has painted:
                      list row, loader thread, decode, thumbnail, hand-back, setImage, paint
and the ratios of the last two to the baseline. Each repeat uses a fresh window, so no
cache is involved; window construction itself is not timed.
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

DEFAULT_PATH = Path(__file__).resolve().parents[1].parent / "shared/data/dicom/chest_cr_mono1_j2k_lossy.dcm"
PAINT_TIMEOUT_MS = 60_000


def time_ms(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000.0


def bare_decode_ms(path: Path) -> float:
    import pydicom

    return time_ms(lambda: pydicom.dcmread(path).pixel_array)


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

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        settings_file = Path(tmp) / "bench.ini"
        # One untimed round each, so imports and codec set-up are not counted.
        bare_decode_ms(args.path), load_image_ms(args.path), first_pixels_ms(args.path, settings_file)
        runs = {"pydicom_decode": [], "load_image": [], "first_pixels": []}
        for _ in range(args.repeats):  # interleaved, so background load hits all three alike
            runs["pydicom_decode"].append(bare_decode_ms(args.path))
            runs["load_image"].append(load_image_ms(args.path))
            runs["first_pixels"].append(first_pixels_ms(args.path, settings_file))
            app.processEvents()
    medians = {name: round(statistics.median(v), 1) for name, v in runs.items()}
    report = {
        "file": args.path.name,
        "repeats": args.repeats,
        "median_ms": medians,
        "ratio_load_image_to_pydicom": round(medians["load_image"] / medians["pydicom_decode"], 2),
        "ratio_first_pixels_to_pydicom": round(medians["first_pixels"] / medians["pydicom_decode"], 2),
        "all_ms": {name: [round(x, 1) for x in v] for name, v in runs.items()},
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
