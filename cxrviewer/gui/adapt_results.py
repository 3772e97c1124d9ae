"""Before/after of a site adaptation as tables and pyqtgraph plots, from its adaptation.json (plain dicts)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

HEADLINE = (("macro_f1", "Macro-F1"), ("macro_auc", "Macro ROC-AUC"), ("ece", "Calibration error (ECE, lower is better)"),
            ("accuracy", "Accuracy"))
CLASS_COLOURS = ("#4e9a06", "#f57900", "#cc0000", "#3465a4", "#75507b")


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.3f}"


def _with_interval(value, interval) -> str:
    return _fmt(value) + (f"  [{interval[0]:.3f} – {interval[1]:.3f}]" if interval else "")


def _table(header: list[str], rows: list[list[str]]) -> QTableWidget:
    table = QTableWidget(len(rows), len(header))
    table.setHorizontalHeaderLabels(header)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            if c > 0:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(r, c, item)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    return table


def _fit_rows(table: QTableWidget) -> QTableWidget:
    """As tall as its rows, no taller: two short tables on one page, one under the other."""
    table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    height = table.horizontalHeader().sizeHint().height() + 2 * table.frameWidth()
    table.setFixedHeight(height + sum(table.rowHeight(r) for r in range(table.rowCount())))
    return table


def summary_rows(report: dict) -> list[list[str]]:
    before, after, intervals = report["before"], report["after"], report["intervals"]
    rows = [[title, _with_interval(before[key], intervals["before"][key]),
             _with_interval(after[key], intervals["after"][key])] for key, title in HEADLINE]
    rows.append(["Flagged as not like the training images", _fmt(before["ood_fraction"]), _fmt(after["ood_fraction"])])
    return rows


def class_rows(report: dict) -> list[list[str]]:
    rows = []
    for name, row in report["after"]["per_class"].items():
        old = report["before"]["per_class"][name]
        rows.append([name, str(row["support"]), _fmt(old["recall"]), _fmt(row["recall"]), _fmt(old["f1"]),
                     _fmt(row["f1"])])
    return rows


def retention_rows(kept: dict) -> list[list[str]]:
    before, after = kept["before"], kept["after"]
    rows = [["Macro-F1", str(kept["images"]), _fmt(before["macro_f1"]), _fmt(after["macro_f1"])],
            ["Macro ROC-AUC", str(kept["images"]), _fmt(before["macro_auc"]), _fmt(after["macro_auc"])]]
    rows += [[f"Sensitivity {name}", str(before["support"][name]), _fmt(recall), _fmt(after["recall"][name])]
             for name, recall in before["recall"].items()]
    return rows


def _summary_tab(report: dict) -> QWidget:
    page = QWidget()
    layout = QVBoxLayout(page)
    n = report["after"]["n"]
    intro = QLabel(f"Method chosen: <b>{report['method']}</b>. Measured on {n} site images, each predicted by a "
                   f"model that never saw it ({report['folds']}-fold cross-validation by patient group); "
                   "95 % intervals from a bootstrap over patient groups.")
    intro.setWordWrap(True)
    layout.addWidget(intro)
    layout.addWidget(_fit_rows(_table(["", "Base model", "Adapted"], summary_rows(report))))
    kept = report.get("retention")
    if kept:
        note = QLabel(f"What was kept of the base model's own data: {kept['images']} of its held-out images "
                      f"(split {kept['split']}, never used for adapting). Lower after adapting is what it forgot.")
        note.setWordWrap(True)
        layout.addSpacing(8)
        layout.addWidget(note)
        table = _table(["", "Images", "Base model", "Adapted"], retention_rows(kept))
        table.setObjectName("retention_table")
        layout.addWidget(_fit_rows(table))
    for warning in report.get("warnings", []):
        label = QLabel(f"⚠ {warning}")
        label.setWordWrap(True)
        label.setStyleSheet("color: #c77c00;")
        layout.addWidget(label)
    layout.addStretch(1)
    return page


def _confusion_tab(report: dict) -> QWidget:
    page = QWidget()
    layout = QHBoxLayout(page)
    for side, title in (("before", "Base model"), ("after", "Adapted")):
        matrix = report[side]["confusion_matrix"]
        labels = matrix["labels"]
        box = QVBoxLayout()
        box.addWidget(QLabel(f"<b>{title}</b> (rows: true class, columns: predicted)"))
        table = _table(["true \\ predicted", *labels],
                       [[name, *[str(v) for v in row]] for name, row in zip(labels, matrix["matrix"])])
        table.setObjectName(f"confusion_{side}")
        box.addWidget(table)
        layout.addLayout(box)
    return page


def _plot(title: str, x_label: str, y_label: str) -> pg.PlotWidget:
    plot = pg.PlotWidget(title=title)
    plot.setBackground("w")
    plot.setLabel("bottom", x_label)
    plot.setLabel("left", y_label)
    plot.setXRange(0, 1, padding=0.02)
    plot.setYRange(0, 1, padding=0.02)
    plot.setMouseEnabled(x=False, y=False)  # a fixed unit square: nothing to pan or zoom
    plot.showGrid(x=True, y=True, alpha=0.2)
    plot.addLegend(offset=(-10, 10))
    plot.plot([0, 1], [0, 1], pen=pg.mkPen("#999999", width=1, style=Qt.PenStyle.DotLine))
    return plot


def _roc_tab(report: dict) -> QWidget:
    plot = _plot("ROC per class: dashed = base model, solid = adapted", "False positive rate", "True positive rate")
    plot.setObjectName("roc_plot")
    for k, (name, curve) in enumerate(report["curves"]["after"]["roc"].items()):
        old = report["curves"]["before"]["roc"].get(name)
        colour = CLASS_COLOURS[k % len(CLASS_COLOURS)]
        if old:
            plot.plot(old["fpr"], old["tpr"], pen=pg.mkPen(colour, width=2, style=Qt.PenStyle.DashLine))
        if curve:
            auc = report["after"]["per_class"][name]["auc"]
            plot.plot(curve["fpr"], curve["tpr"], pen=pg.mkPen(colour, width=2), name=f"{name} (AUC {_fmt(auc)})")
    return plot


def _reliability_tab(report: dict) -> QWidget:
    plot = _plot("Reliability: predicted confidence against observed accuracy", "Confidence", "Accuracy")
    plot.setObjectName("reliability_plot")
    for side, colour, symbol in (("before", "#888888", "o"), ("after", "#3465a4", "s")):
        bins = [b for b in report["curves"][side]["reliability"] if b["count"]]
        ece = report[side]["ece"]
        plot.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], pen=pg.mkPen(colour, width=2),
                  symbol=symbol, symbolBrush=colour, symbolSize=7,
                  name=f"{'base model' if side == 'before' else 'adapted'} (ECE {_fmt(ece)})")
    return plot


def results_widget(report: dict) -> QTabWidget:
    tabs = QTabWidget()
    tabs.addTab(_summary_tab(report), "Summary")
    per_class = _table(["Class", "Images", "Sensitivity before", "after", "F1 before", "after"], class_rows(report))
    tabs.addTab(per_class, "Per class")
    tabs.addTab(_confusion_tab(report), "Confusion matrices")
    tabs.addTab(_roc_tab(report), "ROC curves")
    tabs.addTab(_reliability_tab(report), "Reliability")
    return tabs
