"""A dark, low-glare theme for reading rooms: neutral greys, no saturated chrome."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

_COLOURS = {
    QPalette.ColorRole.Window: "#1e1e1e",
    QPalette.ColorRole.WindowText: "#d8d8d8",
    QPalette.ColorRole.Base: "#141414",
    QPalette.ColorRole.AlternateBase: "#1b1b1b",
    QPalette.ColorRole.Text: "#d8d8d8",
    QPalette.ColorRole.Button: "#2a2a2a",
    QPalette.ColorRole.ButtonText: "#d8d8d8",
    QPalette.ColorRole.ToolTipBase: "#2a2a2a",
    QPalette.ColorRole.ToolTipText: "#e8e8e8",
    QPalette.ColorRole.Highlight: "#3d5a80",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.PlaceholderText: "#8a8a8a",
    QPalette.ColorRole.Link: "#8ab4f8",
    QPalette.ColorRole.BrightText: "#ff8a80",
}

STYLE_SHEET = """
QLabel#cornerOverlay { color: #e6e6e6; background: rgba(0, 0, 0, 120); font-size: 10pt;
                       padding: 2px 4px; border-radius: 2px; }
QLabel#canvasMessage { color: #b0b0b0; background: transparent; font-size: 12pt; }
QLabel#disclaimer { color: #ffd27f; font-weight: bold; padding: 6px;
                    border: 1px solid #6b5a2a; border-radius: 3px; }
QLabel#hint { color: #9a9a9a; }
QLabel#verdict { color: #f0f0f0; font-size: 15pt; font-weight: bold; }
QLabel#oodWarning { color: #ffe0b2; background: #5a2a10; font-size: 12pt; font-weight: bold;
                    padding: 8px; border: 2px solid #ff9800; border-radius: 4px; }
QLabel#modelNotice { color: #ffab91; padding: 4px; border: 1px solid #7a3b2e; border-radius: 3px; }
QLabel#modelName { color: #c8c8c8; }
QLabel#details { color: #8a8a8a; font-size: 9pt; }
QLabel#modelState[problem="true"] { color: #ffab91; }
QDockWidget::title { padding: 4px; background: #252525; }
QStatusBar QLabel { padding: 0 8px; }
"""


def apply_dark_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    for role, colour in _COLOURS.items():
        palette.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6a6a6a"))
    app.setPalette(palette)
    app.setStyleSheet(STYLE_SHEET)
