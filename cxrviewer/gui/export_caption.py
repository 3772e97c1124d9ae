"""The caption under an exported view: research-use line, the AI reading and the model (no patient data).

The words are made here without Qt (``caption_lines``); ``with_caption`` adds them as a
black strip below the film, so no anatomy is covered and the film keeps every pixel.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter

from .ai_format import OOD_SHORT, label_title, percent

DISCLAIMER = "Research use only — not for diagnosis. AI output is a second reader's suggestion."
_NBSP = "\u00a0"


def reading_line(result, frame_index: int = 0) -> str:
    """'AI reading: COVID-19 68 % (Normal 20 %, Pneumonia 12 %)', uncertain and OOD said in words."""
    if result is None:
        return "AI reading: none (this image was not analysed)"
    if result.ood_flag:
        return f"AI reading: none — {OOD_SHORT}"
    others = ", ".join(f"{label_title(label)} {percent(p)}" for label, p in
                       sorted(result.probabilities.items(), key=lambda item: -item[1]) if label != result.label)
    line = f"AI reading: {label_title(result.label)} {percent(result.confidence)}"
    if result.uncertain:
        line += " (uncertain)"
    if others:
        line += f"; {others}"
    if frame_index:
        line += " — read on frame 1"
    return line.replace(_NBSP, " ")


def caption_lines(result, model: str | None, version: str = "", cam_label: str | None = None,
                  frame_index: int = 0) -> list[str]:
    lines = [DISCLAIMER, reading_line(result, frame_index)]
    if model:
        lines.append(f"Model: {model}" + (f", version {version}" if version else ""))
    else:
        lines.append("Model: none loaded")
    if cam_label:
        lines.append(f"Heat map: where the model looked for {label_title(cam_label)}")
    return lines


def with_caption(image: QImage, lines: list[str]) -> QImage:
    """``image`` above a black strip holding ``lines`` (the first, the disclaimer, in amber)."""
    font = QFont()
    font.setPixelSize(max(12, min(image.width() // 60, 40)))
    line_height = round(font.pixelSize() * 1.45)
    margin = font.pixelSize() // 2
    strip = line_height * len(lines) + 2 * margin
    out = QImage(image.width(), image.height() + strip, QImage.Format.Format_RGB888)
    out.fill(QColor(0, 0, 0))
    painter = QPainter(out)
    painter.drawImage(0, 0, image)
    painter.setFont(font)
    for i, line in enumerate(lines):
        painter.setPen(QColor("#ffd27f") if i == 0 else QColor("#e6e6e6"))
        area = QRect(margin, image.height() + margin + i * line_height, image.width() - 2 * margin, line_height)
        elided = painter.fontMetrics().elidedText(line, Qt.TextElideMode.ElideRight, area.width())
        painter.drawText(area, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, elided)
    painter.end()
    out.setText("Description", "\n".join(lines))  # PNG tEXt: the words survive where the strip is cropped
    return out
