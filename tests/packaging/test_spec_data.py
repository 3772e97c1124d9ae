"""The PyInstaller spec's inputs, without building: what ships, what stays out, and
that the smoke test the frozen bundle runs passes from source.

The full frozen build is not run here (see README "Packaging": minutes of CPU and
about 1 GB for the CPU bundle, several GB for the CUDA one); `make dist` runs this
same smoke test against the frozen executables.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from configparser import ConfigParser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "build.spec"


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


spec_data = _load(REPO / "packaging" / "spec_data.py", "cxr_spec_data")


def _analysis_keywords() -> dict[str, ast.expr]:
    tree = ast.parse(SPEC.read_text(encoding="utf-8"))
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "Analysis"]
    assert len(calls) == 1, "build.spec should have exactly one Analysis"
    return {k.arg: k.value for k in calls[0].keywords}


def _tracked_resources() -> set[str]:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.fail("this test compares with `git ls-files resources/`; run it in a git checkout")
    out = subprocess.run(["git", "ls-files", "-z", "resources"], cwd=REPO, check=True, capture_output=True).stdout
    return {Path(p).relative_to("resources").as_posix() for p in out.decode().split("\0") if p}


def _shipped_resources() -> set[str]:
    shipped = set()
    for source, dest in spec_data.resource_datas(REPO):
        dest_path = Path(dest)
        assert dest_path.parts[0] == "cxrviewer_resources", dest
        assert Path(source).resolve().is_relative_to(REPO / "resources"), source
        shipped.add(Path(*dest_path.parts[1:], Path(source).name).as_posix())
    return shipped


def test_every_tracked_resource_file_ships_under_the_package_name():
    tracked = _tracked_resources()
    assert "demo/chest_dx_nih.dcm" in tracked  # the comparison below is not vacuous
    missing = tracked - _shipped_resources()
    assert not missing, f"resources tracked in git but not in the bundle: {sorted(missing)}"


def test_resource_datas_keep_the_folder_layout_and_skip_caches(tmp_path):
    fake = tmp_path / "repo"
    (fake / "resources" / "models" / "m1").mkdir(parents=True)
    (fake / "resources" / "__pycache__").mkdir()
    (fake / "resources" / "__init__.py").write_text("")
    (fake / "resources" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"x")
    (fake / "resources" / "models" / "m1" / "model.json").write_text("{}")
    (fake / "resources" / "models" / "m1" / ".DS_Store").write_bytes(b"x")
    datas = spec_data.resource_datas(fake)
    assert sorted((Path(s).name, d) for s, d in datas) == [
        ("__init__.py", "cxrviewer_resources"),
        ("model.json", "cxrviewer_resources/models/m1"),
    ]


def test_spec_uses_the_tested_lists():
    keywords = _analysis_keywords()
    assert ast.unparse(keywords["excludes"]) == "spec_data.EXCLUDES"
    assert ast.unparse(keywords["hiddenimports"]) == "spec_data.HIDDEN_IMPORTS"
    spec_text = SPEC.read_text(encoding="utf-8")
    assert "datas = spec_data.resource_datas(REPO)" in spec_text
    assert "copy_metadata(dist)" in spec_text and "spec_data.METADATA_DISTRIBUTIONS" in spec_text


def test_training_tests_and_dev_tools_stay_out():
    for name in ("training", "tests", "benchmarks", "pytest", "matplotlib", "tkinter", "IPython"):
        assert name in spec_data.EXCLUDES
    # Nothing the spec adds on purpose may come from training/ or tests/.
    for source, _ in spec_data.resource_datas(REPO):
        assert not Path(source).resolve().is_relative_to(REPO / "training")
        assert not Path(source).resolve().is_relative_to(REPO / "tests")
    assert not [m for m in spec_data.HIDDEN_IMPORTS if m.split(".")[0] in ("training", "tests")]


def test_pylibjpeg_plugins_travel_with_their_entry_points():
    # pylibjpeg finds openjpeg/rle only through dist-info entry points.
    for dist in ("pylibjpeg", "pylibjpeg-openjpeg", "pylibjpeg-rle"):
        assert dist in spec_data.METADATA_DISTRIBUTIONS
    for module in ("openjpeg", "rle", "gdcm"):
        assert module in spec_data.HIDDEN_IMPORTS


@pytest.mark.parametrize(("dest", "kept"), [
    ("PySide6/Qt/plugins/platforms/libqxcb.so", True),
    ("PySide6/Qt/plugins/platforms/libqoffscreen.so", True),
    ("PySide6/Qt/plugins/platforms/libqwayland.so", True),
    ("PySide6/Qt/plugins/platforms/qwindows.dll", True),
    ("PySide6/Qt/plugins/platforms/libqeglfs.so", False),
    ("PySide6/Qt/plugins/platforms/libqvnc.so", False),
    ("PySide6/Qt/plugins/egldeviceintegrations/libqeglfs-kms-integration.so", False),
    ("PySide6/Qt/lib/libQt6Widgets.so.6", True),
    ("PySide6/Qt/lib/libQt6EglFSDeviceIntegration.so.6", False),
    ("torch/lib/libtorch_cpu.so", True),
    ("torch/lib/libtorchbind_test.so", False),
    ("torch/bin/protoc", False),
    ("torch/bin/torch_shm_manager", True),
])
def test_binary_filter(dest, kept):
    assert spec_data.keep_binary(dest) is kept


def test_qt_translations_dropped_other_data_kept():
    assert not spec_data.keep_data("PySide6/Qt/translations/qtbase_de.qm")
    assert spec_data.keep_data("cxrviewer_resources/demo/CREDITS.md")
    assert spec_data.keep_data("_gdcm/XML/Part3.xml")
    assert not spec_data.keep_data("torch/test/Dict_test")
    assert spec_data.keep_data("torch/_inductor/codegen/cpp_prefix.h")


def test_desktop_entry_and_icons():
    desktop = ConfigParser(interpolation=None)
    desktop.optionxform = str
    desktop.read(REPO / "packaging" / "linux" / "cxrviewer.desktop", encoding="utf-8")
    entry = desktop["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Exec"] == '"@BUNDLE_DIR@/cxrviewer" %F'  # install-desktop-entry.sh fills the folder in
    assert entry["Icon"] == "cxrviewer"
    from PIL import Image

    with Image.open(REPO / "resources" / "icons" / "cxrviewer.png") as png:
        assert png.size == (256, 256)
    with Image.open(REPO / "resources" / "icons" / "cxrviewer.ico") as ico:
        assert (16, 16) in ico.info["sizes"] and (256, 256) in ico.info["sizes"]
    assert "<svg" in (REPO / "resources" / "icons" / "cxrviewer.svg").read_text(encoding="utf-8")


def _entry_main(monkeypatch, executable: str, argv: list[str]) -> int:
    entry = _load(REPO / "packaging" / "entry.py", "cxr_entry")
    monkeypatch.setattr(sys, "executable", executable)
    monkeypatch.setattr(sys, "argv", [executable, *argv])
    with pytest.raises(SystemExit) as exit_info:
        entry.main()
    return exit_info.value.code


def test_entry_dispatches_on_the_executable_name(monkeypatch, capsys):
    assert _entry_main(monkeypatch, "/opt/bundle/cxr", ["--version"]) == 0
    assert capsys.readouterr().out.startswith("cxr ")
    assert _entry_main(monkeypatch, "/opt/bundle/cxrviewer", ["--version"]) == 0
    assert capsys.readouterr().out.startswith("cxrviewer ")


def _smoke(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("CXRVIEWER_SMOKE_MODEL", None)
    return subprocess.run([sys.executable, "-m", "cxrviewer.smoke", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=240)


@pytest.fixture(scope="module")
def random_model(tmp_path_factory) -> Path:
    from cxrviewer.model.export import create_random_model_dir

    return create_random_model_dir(tmp_path_factory.mktemp("model") / "random", input_size=64)


@pytest.mark.slow  # runs the smoke test in a fresh interpreter
def test_smoke_test_passes_from_source(random_model):
    done = _smoke("--smoke-test", "--model", str(random_model), "--device", "cpu", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["passed"] is True and report["frozen"] is False
    assert [c["name"] for c in report["checks"]] == ["codecs", "model", "image.dcm", "image.png", "qt"]
    assert all(c["ok"] for c in report["checks"]), report


@pytest.mark.slow  # runs the smoke test in a fresh interpreter
def test_smoke_test_fails_on_a_tampered_model(random_model, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(random_model, broken)
    weights = broken / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    done = _smoke("--model", str(broken), "--device", "cpu")
    assert done.returncode == 1
    assert "does not match the sha256" in done.stdout
    assert "smoke test FAILED" in done.stderr


def test_missing_bundled_model_is_named_clearly(tmp_path):
    from cxrviewer.smoke import SmokeFailure, load_engine

    with pytest.raises(SmokeFailure, match="no bundled model"):
        load_engine(tmp_path / "models" / "cxr3-default", bundled=True, device="cpu")


def test_smoke_usage_error_exits_2():
    assert _smoke("--device", "tpu").returncode == 2


def test_install_desktop_entry_fills_in_the_unpacked_folder(tmp_path):
    unpacked = tmp_path / "unpacked here"  # a space: the Exec line must quote the path
    (unpacked / "cxrviewer").mkdir(parents=True)
    viewer = unpacked / "cxrviewer" / "cxrviewer"
    viewer.write_text("#!/bin/sh\n")
    viewer.chmod(0o755)
    for name in ("cxrviewer.desktop", "install-desktop-entry.sh"):
        shutil.copy2(REPO / "packaging" / "linux" / name, unpacked / name)
    shutil.copy2(REPO / "resources" / "icons" / "cxrviewer.png", unpacked / "cxrviewer.png")
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    script = str(unpacked / "install-desktop-entry.sh")
    subprocess.run(["sh", script], env=env, check=True, capture_output=True)
    entry = tmp_path / "data" / "applications" / "cxrviewer.desktop"
    text = entry.read_text(encoding="utf-8")
    assert f'Exec="{viewer}" %F' in text and "@BUNDLE_DIR@" not in text
    assert (tmp_path / "data" / "icons" / "hicolor" / "256x256" / "apps" / "cxrviewer.png").is_file()
    if shutil.which("desktop-file-validate"):  # Debian's desktop-file-utils, where installed
        subprocess.run(["desktop-file-validate", str(entry)], check=True, capture_output=True)
    subprocess.run(["sh", script, "--remove"], env=env, check=True, capture_output=True)
    assert not entry.exists()


@pytest.mark.slow  # imports torch and torchvision in a fresh interpreter
def test_torchvision_ops_probe():
    # The dev venv pairs torch and torchvision builds, so the ops load and the CUDA
    # bundle ships them; a Python whose probe fails gets the CPU runtime hook instead.
    assert spec_data.torchvision_ops_load(sys.executable) is True
    assert spec_data.torchvision_ops_load(shutil.which("false")) is False
    keywords = _analysis_keywords()
    assert "TORCHVISION_OPS" in ast.unparse(keywords["runtime_hooks"])


def test_every_pacs_module_and_subcommand_is_a_hidden_import():
    # cxr pacs / cxr listen are imported by name (cxrviewer.cli.main.SUBCOMMANDS): the analysis cannot see them.
    wanted = {f"cxrviewer.pacs.{p.stem}" for p in (REPO / "cxrviewer" / "pacs").glob("*.py") if p.stem != "__init__"}
    wanted |= {f"cxrviewer.cli.{p.stem}" for p in (REPO / "cxrviewer" / "cli").glob("pacs*.py")}
    wanted |= {"cxrviewer.cli.listen", "pynetdicom.sop_class", "highdicom.sr", "highdicom.sc"}
    assert wanted - set(spec_data.HIDDEN_IMPORTS) == set()
    for module in spec_data.HIDDEN_IMPORTS:
        if module.startswith(("cxrviewer.", "pynetdicom", "highdicom", "dicomweb_client")):
            assert importlib.util.find_spec(module) is not None, module
    assert "highdicom" in spec_data.DATA_PACKAGES and "highdicom" in spec_data.METADATA_DISTRIBUTIONS
    assert "spec_data.DATA_PACKAGES" in SPEC.read_text(encoding="utf-8")
