"""The inference path imports no timm, torchvision or torch._dynamo (about 1 s of start-up it never uses).

Checked in a fresh interpreter by what lands in sys.modules, not by timing: importing timm
pulls torchvision, whose ops import torch._dynamo; and some torch calls import
torch._dynamo or sympy lazily (an init function or ``to_empty`` on meta tensors), which
only running the path shows.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

UNUSED = ("timm", "torchvision", "torch._dynamo", "torch._inductor", "sympy")
INFERENCE_MODULES = (
    "cxrviewer.inference.engine",
    "cxrviewer.model.architectures",
    "cxrviewer.model.predictor",
    "cxrviewer.model.lung_model",
    "cxrviewer.model.cam",
    "cxrviewer.cli.predict",
)


def _unused_modules_after(code: str) -> list[str]:
    probe = f"import json, sys\n{code}\nprint(json.dumps([m for m in {UNUSED!r} if m in sys.modules]))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow  # a fresh interpreter imports torch (import-linter checks the static imports in the quick run)
def test_importing_the_inference_path_imports_no_timm_torchvision_or_dynamo():
    code = "\n".join(f"import {name}" for name in INFERENCE_MODULES) + "\nimport torch"
    assert _unused_modules_after(code) == []


@pytest.mark.slow  # a fresh interpreter imports torch, loads two models and reads an image with a CAM
def test_loading_the_model_and_reading_an_image_import_none_of_them_either(random_model_dir, samples_dir):
    from .conftest import CHEST_PNG

    code = (
        "from cxrviewer.inference.engine import InferenceEngine\n"
        "from cxrviewer.inference.requests import InferenceRequest\n"
        "from cxrviewer.io import load_image\n"
        f"engine = InferenceEngine.load({str(random_model_dir)!r}, device='cpu')\n"
        f"image = load_image({str(samples_dir / CHEST_PNG)!r})\n"
        "[result] = engine.run_many([InferenceRequest(1, image=image, cam=True)], [image])\n"
        "assert result.cam is not None and result.lungs is not None\n"
    )
    assert _unused_modules_after(code) == []


def test_cxr_predict_imports_torch_only_once_it_loads_the_model():
    # so its first decoder process starts before the 1.4 s import, and usage errors answer at once
    done = subprocess.run([sys.executable, "-c", "import sys, cxrviewer.cli.predict; print('torch' in sys.modules)"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "False", done.stderr[-2000:]
