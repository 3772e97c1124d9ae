"""The benchmarks' bare baselines do the same work as our code (benchmarks/same_work.py), and the scripts run.

No timing here: numbers belong in the benchmarks' JSON, never in a test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
from same_work import BareCamPath, loader_plugin, pydicom_decode, pydicom_default_plugin  # noqa: E402

from cxrviewer.io import load_image  # noqa: E402
from cxrviewer.io.dicom_codecs import decode_first_frame  # noqa: E402


def test_the_decode_baseline_uses_the_loaders_codec(dicom_files):
    for path in dicom_files:
        ours = decode_first_frame(pydicom.dcmread(path, force=True), path)
        assert np.array_equal(pydicom_decode(path, loader_plugin(path)), ours), path.name


def test_the_codec_choice_is_told_apart(dicom_dir):
    j2k = dicom_dir / "chest_cr_mono1_j2k_lossy.dcm"
    assert loader_plugin(j2k) == "pylibjpeg"
    assert pydicom_default_plugin(j2k) == pydicom.pixels.get_decoder(
        pydicom.dcmread(j2k, stop_before_pixels=True).file_meta.TransferSyntaxUID).available_plugins[0]
    assert loader_plugin(dicom_dir / "chest_dx_mono2_uncompressed.dcm") == "native"


def test_the_bare_cam_path_gives_the_engines_answer(random_model_dir, dicom_dir, one_torch_thread):
    from cxrviewer.inference.engine import InferenceEngine
    from cxrviewer.inference.requests import InferenceRequest

    engine = InferenceEngine.load(random_model_dir)
    bare = BareCamPath(random_model_dir, with_lungs=True)
    path = dicom_dir / "chest_cr_mono1_j2k_lossy.dcm"
    image = load_image(path)
    ours = engine.run(InferenceRequest(1, image=image, cam=True))
    for theirs in (bare.run_image(image), bare.run_file(path, loader_plugin(path))):
        assert np.abs(np.array(list(ours.probabilities.values())) - theirs["probabilities"]).max() < 1e-5
        assert theirs["ood"] == pytest.approx(ours.ood_score, rel=1e-4)
        assert theirs["cam"].shape == ours.cam.shape
        assert np.corrcoef(theirs["cam"].ravel(), ours.cam.ravel())[0, 1] > 0.999
        assert theirs["lungs"].shape == ours.lungs.mask.shape


def test_bench_decode_prints_json(dicom_dir):
    done = subprocess.run([sys.executable, str(BENCHMARKS / "bench_decode.py"), "--repeat", "1",
                           str(dicom_dir / "hip_cr_rle.dcm")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    (row,) = report["files"]
    assert set(row["median_ms"]) >= {"load_image", "pydicom_same_codec"}
    assert row["codec_choice"]["ours"] == "pylibjpeg"


def test_bench_bundle_without_a_bundle_says_how_to_build_one(tmp_path):
    done = subprocess.run([sys.executable, str(BENCHMARKS / "bench_bundle.py"), str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "make dist-cpu" in done.stderr and "--build" in done.stderr


def test_bench_bundle_measures_a_bundle(tmp_path):
    """A stand-in bundle (shell scripts named like the executables) and its build report."""
    bundle = tmp_path / "cxrviewer"
    (bundle / "_internal" / "torch").mkdir(parents=True)
    (bundle / "_internal" / "torch" / "lib.so").write_bytes(b"\0" * 4096)
    for name, out in (("cxr", "cxrviewer 1.0"), ("cxrviewer", '{"window_shown_s": 0.25}')):
        (bundle / name).write_text(f"#!/bin/sh\necho '{out}'\n")
        (bundle / name).chmod(0o755)
    (tmp_path / "bundle-cpu.json").write_text(json.dumps({"variant": "cpu", "build_s": 200.0}))
    done = subprocess.run([sys.executable, str(BENCHMARKS / "bench_bundle.py"), str(bundle), "--repeat", "1"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["warm_median"]["window_s"] == 0.25
    assert report["size"]["files"] == 3
    assert report["build"]["bundle-cpu.json"]["build_s"] == 200.0
