"""CAM method names, importable without torch (the viewer's menus and requests use them)."""

from __future__ import annotations

GRADCAM = "gradcam"
GRADCAM_PLUS_PLUS = "gradcam++"
HIRESCAM = "hirescam"
CAM_METHODS = (GRADCAM, GRADCAM_PLUS_PLUS, HIRESCAM)
# For menus and legends.
CAM_METHOD_TITLES = {GRADCAM: "Grad-CAM", GRADCAM_PLUS_PLUS: "Grad-CAM++", HIRESCAM: "HiResCAM"}


def check_method(method: str) -> str:
    if method not in CAM_METHODS:
        raise ValueError(f"unknown CAM method {method!r}; choose one of: {', '.join(CAM_METHODS)}")
    return method
