"""`cxrviewer --smoke-test` / `cxr --smoke-test`: prove this install can do its job, headless.

Meant for the frozen bundle (packaging/entry.py routes the flag here), where a
missing hidden import, codec plugin or data file only shows when code runs.
Checks, each reported on its own line:

* codecs - pydicom sees the decoder plugins we ship (GDCM; pylibjpeg's openjpeg
  and rle plugins, which pylibjpeg finds through entry points, i.e. dist-info
  metadata a frozen build loses unless it is copied), and a JPEG 2000 and an RLE
  image written here decode through ``cxrviewer.io.load_image``.
* model  - the model directory loads (the bundled one unless ``--model DIR`` or
  $CXRVIEWER_SMOKE_MODEL names another).
* images - a bundled DICOM and PNG decode and get a prediction with a Grad-CAM:
  probabilities finite and summing to 1, CAM finite, in [0, 1] and of the
  image's shape, OOD score finite.
* qt     - a QApplication starts on the offscreen platform and the viewer's
  window module imports; on Linux the xcb platform plugin is present.

Exit status: 0 all passed, 1 a check failed, 2 usage error. Torch and Qt are
imported only inside the checks. Research use only, not for diagnosis.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
MODEL_ENV = "CXRVIEWER_SMOKE_MODEL"
PROB_SUM_TOLERANCE = 1e-4


class SmokeFailure(Exception):
    """A check found the install broken; the message says what to fix."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    seconds: float


# --- codecs -----------------------------------------------------------------

def check_codecs() -> str:
    from pydicom.pixels import get_decoder
    from pydicom.uid import JPEG2000Lossless, JPEGBaseline8Bit, RLELossless

    wanted = {JPEG2000Lossless: "pylibjpeg", RLELossless: "pylibjpeg", JPEGBaseline8Bit: "gdcm"}
    missing = [f"{plugin} for {uid.name}" for uid, plugin in wanted.items()
               if plugin not in get_decoder(uid).available_plugins]
    if missing:
        raise SmokeFailure("pydicom lacks decoder plugins: " + "; ".join(missing)
                           + " (frozen build: plugin modules or their dist-info entry points not collected)")
    with tempfile.TemporaryDirectory(prefix="cxr-smoke-") as tmp:
        for uid in (JPEG2000Lossless, RLELossless):
            _round_trip(Path(tmp), uid)
        _through_decoder_process(Path(tmp) / f"smoke-{JPEG2000Lossless.keyword}.dcm")
    return ("gdcm, pylibjpeg-openjpeg, pylibjpeg-rle available; JPEG 2000 and RLE round-trip; "
            "decoder process works")


def _through_decoder_process(path: Path) -> None:
    """The viewer and cxr decode files in child processes: a frozen build must be able to start one."""
    import numpy as np

    from cxrviewer.io import load_image
    from cxrviewer.io.sandbox import DecoderPool

    pool = DecoderPool(processes=1, timeout_s=60)
    try:
        if not np.array_equal(pool.load(path).pixels, load_image(path).pixels):
            raise SmokeFailure("the decoder process returned other pixels than in-process decoding")
    finally:
        pool.close()


def _round_trip(folder: Path, uid) -> None:
    """Compress a small 12-bit ramp with pylibjpeg's encoder and read it back like a user file."""
    import numpy as np

    from cxrviewer.io import load_image

    pixels = (np.arange(64 * 48, dtype=np.uint16).reshape(64, 48) * 7) % 4096
    path = folder / f"smoke-{uid.keyword or 'codec'}.dcm"
    ds = _tiny_dicom(pixels)
    ds.compress(uid, pixels, encoding_plugin="pylibjpeg")
    ds.save_as(path, enforce_file_format=True)
    image = load_image(path)
    if image.pixels.shape != pixels.shape or not np.array_equal(image.pixels, pixels.astype(np.float32)):
        raise SmokeFailure(f"{uid.name}: lossless round trip changed the pixels")


def _tiny_dicom(pixels):
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "OT"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.PixelRepresentation = 0
    ds.PixelData = pixels.tobytes()
    return ds


# --- model and images ---------------------------------------------------------

def resolve_model_dir(given: Path | None) -> tuple[Path, bool]:
    """(directory, is_bundled). A missing bundled model is a failure, not a skip."""
    if given is not None:
        return given, False
    env = os.environ.get(MODEL_ENV)
    if env:
        return Path(env), False
    from cxrviewer.resources import bundled_model_dir

    return bundled_model_dir(), True


def load_engine(model_dir: Path, bundled: bool, device: str):
    from cxrviewer.model.config import CONFIG_FILE

    if bundled and not (model_dir / CONFIG_FILE).is_file():
        raise SmokeFailure(f"no bundled model: {model_dir} has no {CONFIG_FILE} "
                           f"(build with the trained model committed, or pass --model DIR / set {MODEL_ENV})")
    from cxrviewer.inference.engine import InferenceEngine
    from cxrviewer.inference.messages import describe_model_failure

    try:
        return InferenceEngine.load(model_dir, device=device)
    except Exception as exc:  # noqa: BLE001 - any load failure is the finding
        raise SmokeFailure(describe_model_failure(exc, model_dir)) from exc


def demo_image(suffix: str) -> Path:
    from cxrviewer.resources import demo_images

    found = [p for p in demo_images() if p.suffix.lower() == suffix]
    if not found:
        raise SmokeFailure(f"no bundled demo image ending in {suffix} (resources not collected?)")
    return found[0]


def check_image(engine, path: Path) -> str:
    import numpy as np

    from cxrviewer.inference.requests import InferenceRequest
    from cxrviewer.io import load_image

    image = load_image(path)
    result = engine.run(InferenceRequest(request_id=1, image=image, cam=True))
    if result is None:
        raise SmokeFailure(f"{path.name}: the engine returned no result")
    probs = np.array(list(result.probabilities.values()), dtype=np.float64)
    if len(probs) != len(engine.info.labels) or not np.all(np.isfinite(probs)):
        raise SmokeFailure(f"{path.name}: probabilities not finite: {dict(result.probabilities)}")
    if abs(probs.sum() - 1.0) > PROB_SUM_TOLERANCE or probs.min() < 0:
        raise SmokeFailure(f"{path.name}: probabilities sum to {probs.sum():.6f}, not 1")
    if not math.isfinite(result.ood_score):
        raise SmokeFailure(f"{path.name}: OOD score is {result.ood_score}")
    cam = result.cam
    if cam is None or cam.shape != image.pixels.shape:
        shape = None if cam is None else cam.shape
        raise SmokeFailure(f"{path.name}: CAM shape {shape}, image shape {image.pixels.shape}")
    if not np.all(np.isfinite(cam)) or cam.min() < 0 or cam.max() > 1:
        raise SmokeFailure(f"{path.name}: CAM not finite or outside [0, 1]")
    return (f"{path.name} ({image.kind}, {image.width}x{image.height}): {result.label} "
            f"{result.confidence:.3f}, OOD {result.ood_score:.2f}, CAM {result.cam_method} ok")


# --- Qt -------------------------------------------------------------------------

def check_qt() -> str:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a smoke test never needs a display
    from PySide6.QtCore import QLibraryInfo
    from PySide6.QtWidgets import QApplication

    import cxrviewer.gui.main_window  # noqa: F401 - fails here if a GUI module was not collected

    app = QApplication.instance() or QApplication(["cxrviewer-smoke"])
    if app.platformName() != "offscreen":
        raise SmokeFailure(f"Qt started the {app.platformName()!r} platform, not offscreen")
    platforms = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"
    found = sorted(p.name for p in platforms.glob("*")) if platforms.is_dir() else []
    if sys.platform.startswith("linux") and not any("qxcb" in name for name in found):
        raise SmokeFailure(f"the xcb platform plugin is missing from {platforms} (found: {found})")
    return f"offscreen QApplication ok; platform plugins: {', '.join(found)}"


# --- running ----------------------------------------------------------------------

def _timed_check(name: str, fn: Callable[[], str]) -> CheckResult:
    start = time.perf_counter()
    try:
        detail, ok = fn(), True
    except SmokeFailure as exc:
        detail, ok = str(exc), False
    except Exception as exc:  # noqa: BLE001 - report the crash as this check's failure
        log.debug("check %s crashed", name, exc_info=True)
        detail, ok = f"{type(exc).__name__}: {exc}", False
    return CheckResult(name, ok, detail, time.perf_counter() - start)


def run_checks(model: Path | None, device: str = "auto") -> list[CheckResult]:
    results = [_timed_check("codecs", check_codecs)]
    model_dir, bundled = resolve_model_dir(model)
    engine_box: list = []

    def model_check() -> str:
        engine_box.append(load_engine(model_dir, bundled, device))
        info = engine_box[0].info
        return f"{info.architecture} from {model_dir} on {info.device_name}"

    results.append(_timed_check("model", model_check))
    for suffix in (".dcm", ".png"):
        name = f"image{suffix}"
        if engine_box:
            results.append(_timed_check(name, lambda s=suffix: check_image(engine_box[0], demo_image(s))))
        else:
            results.append(CheckResult(name, False, "not run: no model", 0.0))
    results.append(_timed_check("qt", check_qt))
    return results


def startup_probe() -> int:
    """Build and show the real main window offscreen, print when it was up, quit (start-up timing)."""
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from cxrviewer.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication(["cxrviewer"])
    shown: dict[str, float | None] = {}

    def first_tick() -> None:  # the first event-loop turn after show(): the window is on screen
        shown["window_shown_s"] = seconds_since_process_start()
        window.close()
        app.quit()

    with tempfile.TemporaryDirectory(prefix="cxr-probe-") as tmp:
        window = MainWindow(settings=QSettings(str(Path(tmp) / "probe.ini"), QSettings.Format.IniFormat))
        window.show()
        QTimer.singleShot(0, first_tick)
        app.exec()
    print(json.dumps(shown))
    return EXIT_OK


def seconds_since_process_start() -> float | None:
    """From the kernel's record of this process's start (bootloader included); None off Linux."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 of proc(5), counted after the "(comm)" field
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return round(uptime - start_ticks / os.sysconf("SC_CLK_TCK"), 3)
    except (OSError, ValueError, IndexError):
        return None


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cxrviewer --smoke-test",
                                     description="Headless self-test of this cxrviewer install.")
    parser.add_argument("--smoke-test", action="store_true", help="run the checks (the default)")
    parser.add_argument("--startup-probe", action="store_true",
                        help="only show the main window offscreen and quit (start-up timing)")
    parser.add_argument("--model", type=Path, metavar="DIR",
                        help=f"model directory to test (default: ${MODEL_ENV}, else the bundled model)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:
        return EXIT_OK if exc.code == 0 else EXIT_USAGE
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.startup_probe:
        return startup_probe()
    start = time.perf_counter()
    results = run_checks(args.model, args.device)
    passed = all(r.ok for r in results)
    if args.json:
        print(json.dumps({"passed": passed, "frozen": bool(getattr(sys, "frozen", False)),
                          "seconds": round(time.perf_counter() - start, 2),
                          "checks": [asdict(r) for r in results]}))
    else:
        for r in results:
            print(f"smoke {'ok  ' if r.ok else 'FAIL'} {r.name:<10} {r.seconds:6.2f}s  {r.detail}")
        print("smoke test passed" if passed else "smoke test FAILED", file=sys.stdout if passed else sys.stderr)
    return EXIT_OK if passed else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
