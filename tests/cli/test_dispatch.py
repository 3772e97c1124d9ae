"""`cxr` dispatch: subcommands missing from a build are named, not misreported."""

from __future__ import annotations

import pytest

from cxrviewer.cli import main as cli_main


def test_a_subcommand_missing_from_the_build_is_named(monkeypatch, capsys):
    # The PyInstaller bundle ships without training/: `cxr train` must say so.
    monkeypatch.setattr(cli_main, "_import_subcommand", lambda name: None)
    with pytest.raises(SystemExit) as exit_info:
        cli_main.main(["train", "--data", "labels.csv"])
    assert exit_info.value.code == 2
    assert "'train' is not available in this build" in capsys.readouterr().err


def test_unknown_options_are_still_usage_errors(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli_main.main(["info", "--no-such-flag", "x.png"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --no-such-flag" in capsys.readouterr().err
