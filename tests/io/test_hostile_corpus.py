"""The hostile corpus (tests/hostile_corpus.py): each file is one clear error, in the loader and in cxr info/predict."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cxrviewer import io as cxr_io
from cxrviewer.io.sandbox import DecoderPool

_SPEC = importlib.util.spec_from_file_location("hostile_corpus", Path(__file__).resolve().parents[1] / "hostile_corpus.py")
corpus = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(corpus)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    corpus.build(folder)
    return folder


@pytest.fixture(scope="module")
def pool():
    decoders = DecoderPool(processes=1, timeout_s=60)
    yield decoders
    decoders.close()


@pytest.mark.parametrize("name", sorted(corpus.EXPECTED))
def test_each_hostile_file_is_one_clear_error(pool, hostile, name):
    with pytest.raises(cxr_io.ImageLoadError) as caught:
        pool.load(hostile / name)
    expected = getattr(cxr_io, corpus.EXPECTED[name])
    assert isinstance(caught.value, expected), type(caught.value).__name__
    message = str(caught.value)
    assert message.startswith(name) and len(message) <= 300 and corpus.PATIENT_NAME not in message
    assert pool.load(corpus.SHARED / "dicom" / "chest_dx_mono2_uncompressed.dcm").pixels.shape == (1024, 1024)


DECODING = sorted(os.fsdecode(name) for name in corpus.DECODES)


@pytest.mark.parametrize("name", DECODING)
def test_a_file_whose_name_is_not_utf8_opens(pool, hostile, name):
    assert pool.load(hostile / name).pixels.ndim == 2


def test_the_deflate_bomb_is_refused_without_inflating_it(pool, hostile):
    """A gigabyte of padding behind a 1-megapixel header: refused once the data outgrows the header."""
    with pytest.raises(cxr_io.ImageTooLargeError, match="inflates to more than"):
        pool.load(hostile / "deflate_bomb.dcm")
    pid = pool.pids()[0]
    status = Path(f"/proc/{pid}/status")
    if status.exists():  # Linux: the decoder's peak resident memory stayed far below the bomb's size
        peak_kib = int(next(line.split()[1] for line in status.read_text().splitlines() if line.startswith("VmHWM")))
        assert peak_kib < 600 * 1024, peak_kib


def test_cxr_info_accounts_for_every_hostile_file(capsys, hostile):
    from cxrviewer.cli.main import main

    code = main(["info", str(hostile), "--json"])
    captured = capsys.readouterr()
    records = {Path(r["path"]).name: r for r in map(json.loads, captured.out.splitlines())}
    assert code == 1 and set(records) == set(corpus.EXPECTED) | set(DECODING)
    failed = {name: r for name, r in records.items() if name in corpus.EXPECTED}
    assert all(not r["ok"] and r["error"] and corpus.PATIENT_NAME not in r["error"] for r in failed.values())
    assert all(records[name]["ok"] for name in DECODING)
    for name, reason in corpus.SKIPPED.items():
        assert f"{name}: {reason}" in captured.err
    assert corpus.PATIENT_NAME not in captured.err


def test_cxr_predict_fails_each_hostile_file_and_exits_1(capsys, hostile, random_model_dir):
    from cxrviewer.cli.main import main

    code = main(["predict", str(hostile), "--model", str(random_model_dir), "--json", "--device", "cpu"])
    records = {Path(r["path"]).name: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert code == 1 and set(records) == set(corpus.EXPECTED) | set(DECODING)
    assert all(records[name]["ok"] is False and records[name]["error"] for name in corpus.EXPECTED)
    assert all(records[name]["ok"] and records[name]["label"] for name in DECODING)


def test_text_output_prints_a_name_that_is_not_utf8_escaped(hostile):
    """The real command on a UTF-8 terminal: the undecodable byte is printed as an escape, not a crash."""
    done = subprocess.run([sys.executable, "-m", "cxrviewer.cli.main", "info", str(hostile)], capture_output=True,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8"}, timeout=120)
    assert done.returncode == 1, done.stderr
    assert b"caf\\udce9_latin1.png: PNG 640x547" in done.stdout
