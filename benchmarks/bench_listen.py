"""Studies per minute through `cxr listen` (C-STORE in, model, SR + SC out by STOW-RS to Orthanc),
against the model's own throughput (`cxr predict` on the same files), in the same run.

    python benchmarks/bench_listen.py [--studies 14] [--model DIR] [--device cpu]

Each study is one real radiograph from the data root's dicom/ folder (the CR and DX files,
round-robin) with fresh UIDs. Prints one JSON object:

* predict / predict_cam: `cxr predict --json --batch-size 1` on the files (without and with heat maps written,
  as the listener computes one for the Secondary Capture): whole-run images per minute (start-up
  included) and steady images per minute (first to last result);
* listen: the files sent by one C-STORE association as fast as the listener accepts them;
  studies per minute from the first send to the last worklist entry read and forwarded, and
  the same from the first reading (without the listener's start-up);
* listen_vs_predict_cam: the listener's steady rate over cxr predict's with heat maps.

Needs Orthanc with its DICOMweb plugin (the tests' fixture, tests/orthanc_fixture.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pydicom  # noqa: E402
from pydicom.uid import generate_uid  # noqa: E402
from pynetdicom import AE  # noqa: E402

from cxrviewer.pacs.worklist import JSON_NAME, QUEUED, load_entries  # noqa: E402
from tests import data_root  # noqa: E402
from tests.orthanc_fixture import free_port, start_orthanc  # noqa: E402

AET = "CXRBENCH"


def make_studies(folder: Path, count: int) -> list[Path]:
    sources = [p for p in sorted((data_root.data_root() / "dicom").glob("*.dcm"))
               if str(pydicom.dcmread(p, stop_before_pixels=True).get("Modality", "")) in ("CR", "DX")]
    paths = []
    for i in range(count):
        ds = pydicom.dcmread(sources[i % len(sources)])
        ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.PatientID = f"BENCH-{i:03d}"
        path = folder / f"study{i:03d}.dcm"
        ds.save_as(path)
        paths.append(path)
    return paths


def cxr(*args: str) -> list[str]:
    return [sys.executable, "-m", "cxrviewer.cli.main", *args]


def run_predict(paths: list[Path], model_args: list[str], cam_dir: Path | None) -> dict:
    # One image per forward pass, as the listener reads them (batched, the lines come in bursts and a
    # first-to-last rate over a handful of images means nothing).
    command = cxr("predict", "--json", "--batch-size", "1", *model_args, *(["--cam-dir", str(cam_dir)] if cam_dir else []),
                  *map(str, paths))
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stamps = []
    for line in process.stdout:
        if line.strip():
            stamps.append(time.perf_counter())
    process.wait()
    total = time.perf_counter() - start
    n = len(stamps)
    steady = (n - 1) / (stamps[-1] - stamps[0]) * 60 if n > 1 and stamps[-1] > stamps[0] else None
    return {"images": n, "exit": process.returncode, "seconds": round(total, 2),
            "images_per_min": round(n / total * 60, 1), "steady_images_per_min": _round(steady)}


def run_listen(paths: list[Path], model_args: list[str], orthanc, out: Path) -> dict:
    port = free_port()
    env = {**os.environ, "CXR_PACS_PASSWORD": orthanc.auth[1]}
    command = cxr("listen", "--aet", AET, "--port", str(port), "--bind", "127.0.0.1", "--forward-url",
                  orthanc.dicomweb_url, "--user", orthanc.auth[0], "--out", str(out),
                  "--queue-size", str(len(paths) + 1), *model_args)
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    try:
        while "cxr listen: listening" not in (line := process.stderr.readline()):
            if not line and process.poll() is not None:
                raise SystemExit(f"cxr listen exited with {process.returncode}")
        ready_s = time.perf_counter() - started
        datasets = [pydicom.dcmread(p) for p in paths]
        ae = AE(ae_title="BENCHSCU")
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 60
        for ds in datasets:
            ae.add_requested_context(ds.SOPClassUID, ds.file_meta.TransferSyntaxUID)
        t0 = time.perf_counter()
        assoc = ae.associate("127.0.0.1", port, ae_title=AET)
        statuses = [int(assoc.send_c_store(ds).Status) for ds in datasets]
        assoc.release()
        ae.shutdown()
        sent_s = time.perf_counter() - t0
        first_read = None
        while True:
            entries = load_entries(out / JSON_NAME)
            done = [e for e in entries if e.status != QUEUED]
            if done and first_read is None:
                first_read = time.perf_counter()
            if len(done) == len(paths):
                break
            if time.perf_counter() - t0 > 3600:
                raise SystemExit("the listener did not finish within an hour")
            time.sleep(0.1)
        elapsed = time.perf_counter() - t0
        steady_s = time.perf_counter() - first_read
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=300)
    forwarded = sum(1 for e in entries if e.forwarded)
    steady = (len(paths) - 1) / steady_s * 60 if steady_s > 0 else None
    return {"studies": len(paths), "accepted": statuses.count(0), "read": sum(e.status == "read" for e in entries),
            "forwarded": forwarded, "exit_on_sigterm": process.returncode, "startup_s": round(ready_s, 2),
            "send_s": round(sent_s, 2), "seconds": round(elapsed, 2),
            "studies_per_min": round(len(paths) / elapsed * 60, 1), "steady_studies_per_min": _round(steady),
            "summary": err.strip().splitlines()[-1] if err.strip() else ""}


def _round(value):
    return None if value is None else round(value, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--studies", type=int, default=14)
    parser.add_argument("--model", type=Path, help="model directory (default: the bundled model)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    model_args = [*(["--model", str(args.model)] if args.model else []), "--device", args.device]
    with tempfile.TemporaryDirectory(prefix="bench-listen-") as tmp:
        tmp = Path(tmp)
        (tmp / "studies").mkdir()
        paths = make_studies(tmp / "studies", args.studies)
        orthanc = start_orthanc(tmp / "orthanc")
        try:
            predict = run_predict(paths, model_args, None)
            predict_cam = run_predict(paths, model_args, tmp / "cams")
            listen = run_listen(paths, model_args, orthanc, tmp / "inbox")
        finally:
            orthanc.stop()
    ratio = (listen["steady_studies_per_min"] / predict_cam["steady_images_per_min"]
             if listen["steady_studies_per_min"] and predict_cam["steady_images_per_min"] else None)
    print(json.dumps({"benchmark": "listen", "machine": platform.machine(), "cpus": os.cpu_count(),
                      "device": args.device, "studies": args.studies,
                      "predict": predict, "predict_cam": predict_cam, "listen": listen,
                      "listen_vs_predict_cam": None if ratio is None else round(ratio, 2)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
