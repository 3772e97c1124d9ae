"""Help (shortcut table) and About (version, credits, intended use) dialogs."""

from __future__ import annotations

import html
import logging

import pyqtgraph as pg
from PySide6 import __version__ as pyside_version
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from cxrviewer import __version__
from cxrviewer.resources import demo_credits

from .shortcuts import MOUSE_BINDINGS, SHORTCUTS

log = logging.getLogger(__name__)

NOT_FOR_DIAGNOSIS = (
    "Research use only — not for diagnosis. cxrviewer is not a medical device; "
    "its images and AI output must not be used for clinical decisions."
)


def _readable_key(key: str) -> str:
    return {"PgDown": "Page Down", "PgUp": "Page Up"}.get(key, key)


def help_html() -> str:
    rows, group = [], None
    for shortcut in SHORTCUTS:
        if shortcut.group != group:
            group = shortcut.group
            rows.append(f"<tr><th colspan='2' align='left'><br>{html.escape(group)}</th></tr>")
        keys = " / ".join(f"<kbd>{html.escape(_readable_key(k))}</kbd>" for k in shortcut.keys) or "(menu)"
        rows.append(f"<tr><td>{keys}</td><td>{html.escape(shortcut.text)}</td></tr>")
    rows.append("<tr><th colspan='2' align='left'><br>Mouse</th></tr>")
    rows += [f"<tr><td>{html.escape(g)}</td><td>{html.escape(t)}</td></tr>" for g, t in MOUSE_BINDINGS]
    return (f"<h3>Keyboard and mouse</h3><table cellpadding='4'>{''.join(rows)}</table>"
            f"<p><i>{html.escape(NOT_FOR_DIAGNOSIS)}</i></p>")


def about_markdown() -> str:
    try:
        credits = demo_credits()
    except OSError:
        log.warning("demo image credits are missing from the resources")
        credits = "(Demo image credits are missing from this installation.)"
    return (
        f"# cxrviewer {__version__}\n\n"
        "A desktop chest X-ray viewer with an AI second reader.\n\n"
        f"**{NOT_FOR_DIAGNOSIS}**\n\n"
        "Licence: Apache-2.0. "
        f"Built with Qt for Python (PySide6 {pyside_version}) and pyqtgraph {pg.__version__}.\n\n"
        f"{credits.replace('# Demo images', '## Demo images', 1)}\n"
    )


def _text_dialog(parent: QWidget | None, title: str, body: str, markdown: bool) -> QDialog:
    dialog = QDialog(parent)
    dialog.setWindowTitle(title)
    browser = QTextBrowser()
    browser.setOpenExternalLinks(True)
    (browser.setMarkdown if markdown else browser.setHtml)(body)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(browser)
    layout.addWidget(buttons)
    dialog.resize(720, 560)
    dialog.browser = browser  # for tests and callers that want the text
    return dialog


def help_dialog(parent: QWidget | None = None) -> QDialog:
    return _text_dialog(parent, "cxrviewer — keyboard and mouse", help_html(), markdown=False)


def about_dialog(parent: QWidget | None = None) -> QDialog:
    return _text_dialog(parent, "About cxrviewer", about_markdown(), markdown=True)


def model_card_dialog(parent: QWidget | None, model_name: str, card_markdown: str) -> QDialog:
    body = card_markdown.strip() or f"The model {model_name} has no MODEL_CARD.md."
    return _text_dialog(parent, f"Model card — {model_name}", f"{body}\n\n---\n\n*{NOT_FOR_DIAGNOSIS}*",
                        markdown=True)
