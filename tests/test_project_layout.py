"""The package list in pyproject.toml must cover every package in the repo.

pyproject lists packages by hand (resources/ installs as cxrviewer_resources),
so a new subpackage that is not listed would work in the editable dev install
and vanish from wheels and bundles. This test catches that.
"""

from __future__ import annotations

import tomllib

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _declared_packages() -> set[str]:
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return set(config["tool"]["setuptools"]["packages"])


def _packages_on_disk() -> set[str]:
    found = set()
    for top in ("cxrviewer", "training"):
        for init in (REPO_ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO_ROOT)
            if "__pycache__" not in rel.parts:
                found.add(".".join(rel.parts))
    return found


def test_every_package_is_declared():
    missing = _packages_on_disk() - _declared_packages()
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(missing)}"


def test_declared_packages_exist():
    stale = {p for p in _declared_packages() - _packages_on_disk() if p != "cxrviewer_resources"}
    assert not stale, f"listed in pyproject.toml but not in the repo: {sorted(stale)}"
    assert (REPO_ROOT / "resources" / "__init__.py").is_file()
