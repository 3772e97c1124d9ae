"""benchmarks/fuzz_loader.py: the same seed gives the same mutants, leaks are recognised, a short run reports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
from loader_fuzz.outcome import leak_reasons  # noqa: E402

FOLDER = Path("/tmp/cxrfuzz-k2j3h4")


@pytest.mark.parametrize("message, reason", [
    ("0000002a.dcm: DICOM file has no pixel data (SOP class: CR Image Storage)", None),
    ("0000002a.dcm: the transfer syntax (1.2.840.10008.1.2.4.999) is not one cxrviewer knows", None),
    ("0000002a.dcm: unknown transfer syntax Covid0000", "an identifier from the file"),
    ("0000002a.dcm: SOP class 1.3.6.1.4.1.5962.1.2.9", "an unregistered UID"),
    ("0000002a.dcm: cannot read /tmp/cxrfuzz-k2j3h4/0000002a.dcm", "a folder of the path"),
    ("0000002a.dcm: header \x00\x01", "non-printable characters"),
    ("0000002a.dcm: " + "x" * 300, "longer than 300 characters"),
])
def test_leaks_are_recognised(message, reason):
    reasons = leak_reasons(message, ("Covid0000",), FOLDER)
    assert reasons == ([] if reason is None else [reason])


def test_the_same_seed_gives_the_same_mutants(full_data):
    from loader_fuzz.mutators import make_mutant
    from loader_fuzz.seeds import build_seeds

    seeds = build_seeds(full_data)
    first = [make_mutant(7, index, seeds) for index in range(200)]
    again = [make_mutant(7, index, seeds) for index in (0, 57, 199)]
    assert [(m.mutator, m.data) for m in again] == [(first[i].mutator, first[i].data) for i in (0, 57, 199)]
    assert len({m.family for m in first}) >= 12  # most mutator families within 200 mutants


def test_a_short_run_prints_and_writes_its_report(full_data, tmp_path):
    out = tmp_path / "fuzz.json"
    run = subprocess.run([sys.executable, str(BENCHMARKS / "fuzz_loader.py"), "40", "--seed", "7", "--out", str(out),
                          "--shared", str(full_data)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-1000:]
    report = json.loads(run.stdout)
    assert report == json.loads(out.read_text())
    assert report["tried"] == 40 and report["complete"] and sum(report["outcomes"].values()) == 40
    counts = report["counts"]
    assert counts["crashes"] == counts["hangs"] == counts["uncaught"] == counts["leaks"] == 0
