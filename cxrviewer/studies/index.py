"""Each opened file's identity, as the loader reported it, in the order the files were opened."""

from __future__ import annotations

from pathlib import Path

from cxrviewer.io.dicom_identity import NO_IDENTITY, ImageIdentity


class StudyIndex:
    """Path -> ImageIdentity. Filled from the loader's results: no file is read here."""

    def __init__(self) -> None:
        self._identities: dict[Path, ImageIdentity] = {}

    def add(self, path: Path, identity: ImageIdentity | None) -> bool:
        """Record (or update) a file; True when that changed what is known."""
        identity = identity or NO_IDENTITY
        if self._identities.get(path) == identity and path in self._identities:
            return False
        self._identities[path] = identity
        return True

    def identity(self, path: Path) -> ImageIdentity:
        return self._identities.get(path, NO_IDENTITY)

    def known(self, path: Path) -> bool:
        return path in self._identities

    def items(self) -> list[tuple[Path, ImageIdentity]]:
        return list(self._identities.items())

    def as_mapping(self) -> dict[Path, ImageIdentity]:
        return dict(self._identities)

    def clear(self) -> None:
        self._identities.clear()

    def __len__(self) -> int:
        return len(self._identities)
