"""glibc malloc thresholds: applied once per process, off on request, and in the bundle's runtime hooks."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROBE = "from cxrviewer.malloc_tuning import tune_malloc; print(tune_malloc(), tune_malloc())"


def _probe(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("CXR_MALLOC_TUNING", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")}
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env={**clean, **env},
                          timeout=60, check=True)
    return done.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_applied_on_linux_unless_switched_off_or_tuned_by_the_user():
    assert _probe() == "True True"
    assert _probe(CXR_MALLOC_TUNING="0") == "False False"
    assert _probe(MALLOC_TRIM_THRESHOLD_="1048576") == "False False"  # glibc's own setting stays


def test_every_entry_point_tunes_malloc_first():
    for path, function in (("cxrviewer/cli/main.py", "main"), ("cxrviewer/gui/app.py", "main")):
        tree = ast.parse((REPO / path).read_text(encoding="utf-8"))
        [main] = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function]
        assert ast.unparse(main.body[0]) == "tune_malloc()", path


def test_the_bundle_runs_the_malloc_hook_first():
    tree = ast.parse((REPO / "build.spec").read_text(encoding="utf-8"))
    [analysis] = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "Analysis"]
    hooks = ast.unparse(next(k.value for k in analysis.keywords if k.arg == "runtime_hooks"))
    assert hooks.startswith("[str(REPO / 'packaging' / 'hooks' / 'rthook_malloc.py')]")
    hook = (REPO / "packaging" / "hooks" / "rthook_malloc.py").read_text(encoding="utf-8")
    assert "tune_malloc()" in hook
