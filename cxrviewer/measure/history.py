"""Undo for one image's annotations: the states before each change, newest last."""

from __future__ import annotations

from .annotation import Annotation

State = tuple[Annotation, ...]
_LIMIT = 200  # far more than a reading needs; keeps a long session's memory bounded


class History:
    def __init__(self) -> None:
        self._states: list[State] = []

    def push(self, before: State) -> None:
        self._states.append(tuple(before))
        del self._states[:-_LIMIT]

    def undo(self) -> State | None:
        return self._states.pop() if self._states else None

    def __len__(self) -> int:
        return len(self._states)
