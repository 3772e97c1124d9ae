"""Commands that write results refuse an output folder they cannot write before doing any work."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxrviewer.cli.main import main as cxr_main


@pytest.fixture
def blocked(tmp_path: Path) -> Path:
    """A path under a regular file: no folder can be made there, even by root."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    return blocker / "out"


def test_cxr_adapt_refuses_an_out_folder_it_cannot_create(blocked: Path, tmp_path: Path, capsys):
    code = cxr_main(["adapt", "--data", str(tmp_path / "no-such.csv"), "--out", str(blocked)])
    err = capsys.readouterr().err
    assert code == 2 and "--out" in err and "cannot create the folder" in err
    assert "no-such.csv" not in err  # refused before the data were even looked at
