"""The hostile corpus (tests/hostile_corpus.py): each file is one clear error, in the loader and in cxr info/predict."""

from __future__ import annotations

import importlib.util
import json
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


def test_cxr_info_accounts_for_every_hostile_file(capsys, hostile):
    from cxrviewer.cli.main import main

    code = main(["info", str(hostile), "--json"])
    captured = capsys.readouterr()
    records = {Path(r["path"]).name: r for r in map(json.loads, captured.out.splitlines())}
    assert code == 1 and set(records) == set(corpus.EXPECTED)
    assert all(not r["ok"] and r["error"] and corpus.PATIENT_NAME not in r["error"] for r in records.values())
    for name, reason in corpus.SKIPPED.items():
        assert f"{name}: {reason}" in captured.err
    assert corpus.PATIENT_NAME not in captured.err


def test_cxr_predict_fails_each_hostile_file_and_exits_1(capsys, hostile, random_model_dir):
    from cxrviewer.cli.main import main

    code = main(["predict", str(hostile), "--model", str(random_model_dir), "--json", "--device", "cpu"])
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1 and len(records) == len(corpus.EXPECTED)
    assert all(r["ok"] is False and r["error"] for r in records)
