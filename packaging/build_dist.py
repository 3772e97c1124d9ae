"""`make dist`: build the bundle, smoke-test the frozen executables, measure, package.

Run with the build environment's Python (its torch decides the variant):

    python packaging/build_dist.py [--smoke-model DIR] [--no-tarball] [--skip-build]

Steps: PyInstaller (build.spec) -> `cxr --smoke-test` and `cxrviewer --smoke-test`
(frozen, offscreen) -> `cxr train` must refuse -> benchmarks/bench_bundle.py
(size, cold/warm start-up) -> Linux tarball with a .desktop entry and icon ->
dist/bundle-<variant>.json. Exit 0 only when every step passed.
--smoke-model tests the bundle with another model directory (the bundled one is
the default; without it the smoke test fails with "no bundled model").
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

log = logging.getLogger("build_dist")

REPO = Path(__file__).resolve().parent.parent
DIST = REPO / "dist"
BUNDLE = DIST / "cxrviewer"
LINUX_FILES = REPO / "packaging" / "linux"


class StepFailed(Exception):
    pass


def torch_variant() -> dict:
    """CPU or CUDA, read from torch/version.py without importing torch."""
    spec = importlib.util.find_spec("torch")
    if spec is None:
        raise StepFailed(f"{sys.executable} has no torch: run this with the build environment's Python")
    namespace: dict = {}
    exec((Path(spec.origin).parent / "version.py").read_text(encoding="utf-8"), namespace)
    cuda = namespace.get("cuda")
    return {"variant": "cuda" if cuda else "cpu", "torch": namespace.get("__version__"), "cuda": cuda}


def cxrviewer_version() -> str:
    namespace: dict = {}
    exec((REPO / "cxrviewer" / "__init__.py").read_text(encoding="utf-8").split('"""', 2)[-1], namespace)
    return namespace["__version__"]


def run(cmd: list[str], env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    log.info("$ %s", " ".join(cmd))
    done = subprocess.run(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if check and done.returncode != 0:
        raise StepFailed(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stdout[-4000:]}")
    return done


def build() -> float:
    start = time.perf_counter()
    log_path = REPO / "build" / "pyinstaller.log"
    log_path.parent.mkdir(exist_ok=True)
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--distpath", str(DIST),
           "--workpath", str(REPO / "build" / "pyinstaller"), str(REPO / "build.spec")]
    log.info("$ %s  (log: %s)", " ".join(cmd), log_path)
    with open(log_path, "w") as out:
        code = subprocess.run(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT).returncode
    if code != 0:
        raise StepFailed(f"PyInstaller exited {code}; see {log_path}")
    return time.perf_counter() - start


def make_world_readable(root: Path) -> None:
    """COLLECT keeps source modes; a 0600 file from a checkout would be unreadable for
    other users of an all-users install. Everyone may read; executables stay executable."""
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        executable = path.is_dir() or mode & 0o100
        path.chmod(mode | 0o444 | (0o111 if executable else 0))


def exe(name: str) -> str:
    return str(BUNDLE / (name + ".exe" if sys.platform == "win32" else name))


def smoke(env: dict) -> dict:
    done = run([exe("cxr"), "--smoke-test", "--json"], env, check=False)
    try:
        report = json.loads(done.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        raise StepFailed(f"frozen smoke test printed no report (exit {done.returncode}):\n{done.stdout[-4000:]}")
    for check in report["checks"]:
        log.info("smoke %-4s %-10s %s", "ok" if check["ok"] else "FAIL", check["name"], check["detail"])
    if done.returncode != 0 or not report["passed"]:
        raise StepFailed("the frozen smoke test (cxr --smoke-test) failed; see above")
    gui = run([exe("cxrviewer"), "--smoke-test"], env, check=False)
    if gui.returncode != 0:
        raise StepFailed(f"the frozen smoke test (cxrviewer --smoke-test) failed:\n{gui.stdout[-4000:]}")
    return report


def training_refused(env: dict) -> str:
    done = run([exe("cxr"), "train"], env, check=False)
    if done.returncode != 2 or "not available in this build" not in done.stdout:
        raise StepFailed(f"`cxr train` should refuse in the bundle (exit 2), got {done.returncode}:\n{done.stdout}")
    return done.stdout.strip().splitlines()[-1]


def bench(env: dict) -> dict:
    cmd = [sys.executable, str(REPO / "benchmarks" / "bench_bundle.py"), str(BUNDLE)]
    if env.get("CXRVIEWER_SMOKE_MODEL"):
        cmd += ["--model", env["CXRVIEWER_SMOKE_MODEL"]]
    return json.loads(run(cmd, env).stdout.strip().splitlines()[-1])


def tarball(name: str) -> Path:
    """dist/<name>.tar.gz: <name>/cxrviewer/ (the bundle), .desktop template, icon, installer script."""
    out = DIST / f"{name}.tar.gz"
    rename = f"s,^,{name}/,"
    run(["tar", "--create", "--gzip", "--file", str(out), "--owner=0", "--group=0", f"--transform={rename}",
         "-C", str(DIST), "cxrviewer",
         "-C", str(LINUX_FILES), "cxrviewer.desktop", "install-desktop-entry.sh", "README.txt",
         "-C", str(REPO / "resources" / "icons"), "cxrviewer.png"])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build, smoke-test and measure the cxrviewer bundle.")
    parser.add_argument("--smoke-model", type=Path, metavar="DIR", help="model dir for the frozen smoke test")
    parser.add_argument("--no-tarball", action="store_true", help="skip the Linux tarball")
    parser.add_argument("--skip-build", action="store_true", help="test and measure the existing dist/cxrviewer")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="dist: %(message)s")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    if args.smoke_model:
        env["CXRVIEWER_SMOKE_MODEL"] = str(args.smoke_model.resolve())
    try:
        info = torch_variant()
        report = {**info, "cxrviewer": cxrviewer_version(), "platform": f"{sys.platform}-{platform.machine()}",
                  "python": platform.python_version(), "smoke_model": env.get("CXRVIEWER_SMOKE_MODEL")}
        log.info("building the %s bundle (torch %s)", info["variant"], info["torch"])
        report["build_s"] = None if args.skip_build else round(build(), 1)
        make_world_readable(BUNDLE)
        report["smoke"] = smoke(env)
        report["training_refused"] = training_refused(env)
        report["bench"] = bench(env)
        if not args.no_tarball and sys.platform.startswith("linux"):
            name = f"cxrviewer-{report['cxrviewer']}-linux-{platform.machine()}-{info['variant']}"
            archive = tarball(name)
            report["tarball"] = {"path": str(archive.relative_to(REPO)), "mib": round(archive.stat().st_size / 2**20, 1)}
    except StepFailed as exc:
        log.error("%s", exc)
        return 1
    out = DIST / f"bundle-{info['variant']}.json"
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    size = report["bench"]["size"]["mib"]
    log.info("ok: %s bundle %.0f MiB, window shown in %.2f s cold; report %s", info["variant"], size,
             report["bench"]["cold"]["window_s"] or float("nan"), out.relative_to(REPO))
    return 0


if __name__ == "__main__":
    sys.exit(main())
