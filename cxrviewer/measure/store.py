"""Annotations saved per image in JSON sidecars in the user's data folder, never beside the image.

An image is named by its SOP Instance UID, else by a hash of its file's bytes, so its
annotations come back wherever the file is opened from. Sidecar names are hashes of
that key: the folder holds no UIDs, file names or patient data. Writes are atomic.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from pathlib import Path

from cxrviewer.atomic_files import atomic_write_bytes

from .annotation import Annotation

log = logging.getLogger(__name__)

FORMAT = "cxrviewer-annotations"
VERSION = 1
_CHUNK = 1 << 20


def image_key(instance_uid: str, path: Path) -> str:
    """'uid:<SOP Instance UID>', else 'sha256:<hash of the file's bytes>'."""
    if instance_uid:
        return f"uid:{instance_uid}"
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


class AnnotationStore:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path_for(self, key: str) -> Path:
        return self.folder / f"{hashlib.sha256(key.encode()).hexdigest()[:40]}.json"

    def load(self, key: str) -> list[Annotation]:
        path = self.path_for(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            log.warning("annotation sidecar %s unreadable (%s); starting empty", path.name, type(exc).__name__)
            return []
        return self._parse(data, path.name)

    @staticmethod
    def _parse(data, name: str) -> list[Annotation]:
        out = []
        for item in data.get("annotations", []) if isinstance(data, dict) else []:
            try:
                out.append(Annotation.from_dict(item))
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("annotation sidecar %s: an entry was left out (%s)", name, type(exc).__name__)
        return out

    def save(self, key: str, annotations: Iterable[Annotation]) -> None:
        """Write the image's annotations; none left removes its sidecar."""
        items = [a.to_dict() for a in annotations]
        path = self.path_for(key)
        if not items:
            path.unlink(missing_ok=True)
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        body = {"format": FORMAT, "version": VERSION, "annotations": items}
        atomic_write_bytes(path, json.dumps(body, indent=1).encode("utf-8"))
