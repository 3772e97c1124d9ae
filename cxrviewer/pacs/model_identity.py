"""Which model made a reading, as the DICOM results record it: name, version and file hashes.

Read from the model directory's model.json (no torch): the weights' and card's sha256
are the ones the loader verified, and model.json's own sha256 pins the settings
(temperature, OOD threshold) that change what a reading says.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from cxrviewer import __version__
from cxrviewer.model.config import CARD_FILE, CONFIG_FILE, WEIGHTS_FILE, version_from_config



@dataclass(frozen=True)
class ModelIdentity:
    name: str  # the model directory's name
    version: str  # training's version, else its git commit, else the weights' hash prefix
    architecture: str
    weights_sha256: str
    card_sha256: str
    config_sha256: str
    software_version: str = __version__

    @classmethod
    def from_model_dir(cls, model_dir: Path) -> ModelIdentity:
        model_dir = Path(model_dir)
        raw = (model_dir / CONFIG_FILE).read_bytes()
        config = json.loads(raw)
        files = config.get("files") or {}
        return cls(
            name=model_dir.resolve().name,
            version=version_from_config(config),
            architecture=str(config.get("architecture", "")),
            weights_sha256=str(files.get(WEIGHTS_FILE, "")),
            card_sha256=str(files.get(CARD_FILE, "")),
            config_sha256=hashlib.sha256(raw).hexdigest(),
        )

    def parameters(self) -> list[str]:
        """Lines for the SR's algorithm parameters: everything needed to find the exact model again."""
        return [f"architecture={self.architecture}", f"{WEIGHTS_FILE} sha256={self.weights_sha256}",
                f"{CARD_FILE} sha256={self.card_sha256}", f"{CONFIG_FILE} sha256={self.config_sha256}",
                f"cxrviewer {self.software_version}"]

