"""Peak memory of opening and predicting one large DICOM, against the same run on a small one.

    python benchmarks/bench_memory_large.py [--side 10000] [--small-side 1024] [--repeat 1]

Writes a SIDE x SIDE 16-bit uncompressed DICOM (smooth synthetic anatomy-like content),
runs ``cxr predict --json --cam-dir --cam-raw --lung-dir`` on it in a fresh process,
and samples the resident memory of that process and its decoder children (summed)
every 10 ms. The same command on a SMALL_SIDE image is the baseline: the model,
torch and the decoders cost the same for both, so the difference is what the
image itself costs. Prints JSON: peak MiB of the whole process tree for both, the
difference, the decoded image's size (16-bit stored and float32 as held), and their
ratio. Linux only (/proc).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

log = logging.getLogger("benchmarks.bench_memory_large")
MIB = 2**20


def write_dicom(path: Path, side: int) -> None:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32) / side
    # Two dark ovals (lungs) in a bright body on a dark background: a chest-like scene.
    body = ((xx - 0.5) ** 2 / 0.2 + (yy - 0.5) ** 2 / 0.25) < 1
    lungs = (((xx - 0.32) ** 2 / 0.02 + (yy - 0.45) ** 2 / 0.08) < 1) | (((xx - 0.68) ** 2 / 0.02 +
                                                                           (yy - 0.45) ** 2 / 0.08) < 1)
    pixels = (800 + 2400 * body - 1600 * lungs).astype(np.uint16)
    del yy, xx, body, lungs
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"  # DX for presentation
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID, ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.BodyPartExamined = "DX", "CHEST"
    ds.Rows = ds.Columns = side
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = pixels.tobytes()
    ds.save_as(path, enforce_file_format=True)


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def _tree_rss(pid: int) -> int:
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/statm") as fh:
                total += int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            continue
        todo += _children(current)
    return total


def peak_tree_mib(command: list[str]) -> tuple[float, int]:
    """Peak summed RSS of the command's process tree (sampled) and its exit code."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(proc.pid))
        time.sleep(0.01)
    return peak / MIB, proc.returncode


def predict_command(image: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "cxrviewer.cli.main", "predict", str(image), "--json", "--device", "cpu",
            "--cam-dir", str(out / "cam"), "--cam-raw", str(out / "raw"), "--lung-dir", str(out / "lungs")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=10000)
    parser.add_argument("--small-side", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each size, interleaved (peak: median)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        large, small = tmp_path / "large.dcm", tmp_path / "small.dcm"
        write_dicom(large, args.side)
        write_dicom(small, args.small_side)
        peaks: dict[str, list[float]] = {"large": [], "small": []}
        for run in range(args.repeat):
            for name, image in (("small", small), ("large", large)):
                out = tmp_path / f"{name}{run}"
                mib, code = peak_tree_mib(predict_command(image, out))
                if code != 0:
                    log.error("cxr predict exited %d on the %s image", code, name)
                    return 1
                peaks[name].append(mib)
                log.info("%s: peak %.0f MiB", name, mib)
    large_mib, small_mib = float(np.median(peaks["large"])), float(np.median(peaks["small"]))
    stored = args.side**2 * 2 / MIB
    held = args.side**2 * 4 / MIB
    print(json.dumps({
        "side": args.side, "small_side": args.small_side, "repeat": args.repeat,
        "peak_mib": {"large": round(large_mib), "small": round(small_mib)},
        "image_cost_mib": round(large_mib - small_mib),
        "decoded_mib": {"stored_16bit": round(stored), "float32": round(held)},
        "ratio_to_stored": round((large_mib - small_mib) / stored, 2),
        "ratio_to_float32": round((large_mib - small_mib) / held, 2),
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
