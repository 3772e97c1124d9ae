"""The window's size on a first start (no saved geometry): most of the screen, centred."""

from __future__ import annotations

from PySide6.QtCore import QRect

FIRST_SHARE = 0.85  # of the screen's available area (without task bar and dock)


def first_geometry(available: QRect, share: float = FIRST_SHARE) -> QRect:
    width, height = round(available.width() * share), round(available.height() * share)
    rect = QRect(0, 0, width, height)
    rect.moveCenter(available.center())
    return rect
