"""Right-hand AI results pane. A placeholder until the AI reader fills it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from .dialogs import NOT_FOR_DIAGNOSIS


class ResultsPane(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.disclaimer = QLabel("Research use only — not for diagnosis")
        self.disclaimer.setObjectName("disclaimer")
        self.disclaimer.setWordWrap(True)
        self.disclaimer.setToolTip(NOT_FOR_DIAGNOSIS)
        self.body = QLabel("The AI second reader is not available in this build.")
        self.body.setObjectName("hint")
        self.body.setWordWrap(True)
        self.body.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout = QVBoxLayout(self)
        layout.addWidget(self.disclaimer)
        layout.addWidget(self.body, 1)
