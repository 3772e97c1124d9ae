"""Evaluation report: PNG plots (matplotlib, Agg canvas) and a Markdown summary.

Every file is written atomically (a temp file in the same folder, then
os.replace), so a crash or a full disk never leaves a half-written report
that looks complete. matplotlib is imported only when plots are drawn: it is
in the ``train`` extra, not a runtime dependency of the viewer.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cxrviewer.atomic_files import atomic_write_bytes
from training import metrics

log = logging.getLogger(__name__)

DISCLAIMER = (
    "**Research tool, not for diagnosis.** cxrviewer is not a medical device; these "
    "numbers describe a model on one data set and must not be used to diagnose, treat "
    "or triage patients."
)
OVERALL_KEYS = ("n", "accuracy", "macro_f1", "macro_auc", "ece", "ood_fraction")
SUBGROUP_KEYS = ("n", "accuracy", "macro_auc", "ood_fraction")
CLASS_KEYS = ("support", "sensitivity", "specificity", "ppv", "npv", "f1", "auc")


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder and os.replace."""
    atomic_write_bytes(Path(path), data)


def matplotlib_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def fmt(value) -> str:
    """A table cell: 3 decimals for floats, 'n/a' for undefined (None)."""
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(cell) for cell in row) + " |" for row in rows]
    return lines


def text_summary(results: dict) -> str:
    """The short plain-text table `cxr evaluate` prints."""
    lines = [f"{key:<13}{fmt(results.get(key))}" for key in OVERALL_KEYS]
    lines.append(f"{'failed':<13}{len(results.get('failed', []))}")
    lines.append("")
    lines.append(f"{'class':<14}" + "".join(f"{k:>12}" for k in CLASS_KEYS))
    for name, row in results["per_class"].items():
        lines.append(f"{name:<14}" + "".join(f"{fmt(row[k]):>12}" for k in CLASS_KEYS))
    # Subgroups side by side: a model that learned the source instead of the disease shows here.
    for column, groups in results.get("breakdown", {}).items():
        lines.append("")
        lines.append(f"{column:<20}" + "".join(f"{k:>14}" for k in SUBGROUP_KEYS))
        for value, group in groups.items():
            lines.append(f"{value:<20}" + "".join(f"{fmt(group[k]):>14}" for k in SUBGROUP_KEYS))
    return "\n".join(lines)


def markdown_summary(results: dict) -> str:
    meta = results.get("meta", {})
    lines = ["# Evaluation summary", "", DISCLAIMER, ""]
    lines += [f"- model: {meta.get('model_name', 'n/a')} (version {meta.get('model_version', 'n/a')})",
              f"- split: {meta.get('split') or 'all rows'}",
              f"- data sha256: `{meta.get('data_sha256', 'n/a')}`",
              f"- files that failed to load: {len(results.get('failed', []))}", ""]
    lines += ["## Overall", ""]
    lines += _table(OVERALL_KEYS, [[results.get(k) for k in OVERALL_KEYS]]) + [""]
    lines += ["## Per class (one-vs-rest)", ""]
    lines += _table(("class",) + CLASS_KEYS,
                    [[name] + [row[k] for k in CLASS_KEYS] for name, row in results["per_class"].items()])
    for column, groups in results.get("breakdown", {}).items():
        lines += ["", f"## Per {column}", ""]
        lines += _table((column,) + OVERALL_KEYS,
                        [[value] + [g.get(k) for k in OVERALL_KEYS] for value, g in groups.items()])
    lines += ["", "Undefined values (a zero denominator, a class absent from a group) are shown as n/a.",
              "ECE: top-label, 15 equal-width confidence bins.", ""]
    return "\n".join(lines)


def _new_figure(width: float, height: float):
    # An explicit Agg canvas: no global backend switch, no GUI, safe in threads.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def _png_bytes(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def confusion_matrix_png(matrix: Sequence[Sequence[int]], label_names: Sequence[str]) -> bytes:
    matrix = np.asarray(matrix)
    figure = _new_figure(5, 4.5)
    ax = figure.add_subplot()
    image = ax.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=ax)
    ticks = range(len(label_names))
    ax.set_xticks(ticks, label_names, rotation=30)
    ax.set_yticks(ticks, label_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = matrix.max() / 2 if matrix.size else 0
    for (row, col), count in np.ndenumerate(matrix):
        ax.text(col, row, str(count), ha="center", va="center",
                color="white" if count > threshold else "black")
    ax.set_title("Confusion matrix")
    figure.tight_layout()
    return _png_bytes(figure)


def roc_png(curves: dict[str, dict | None], per_class: dict[str, dict]) -> bytes:
    figure = _new_figure(5, 5)
    ax = figure.add_subplot()
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    drawn = [name for name, curve in curves.items() if curve is not None]
    for name in drawn:  # an absent (or lone) class has no curve to draw
        ax.plot(curves[name]["fpr"], curves[name]["tpr"], label=f"{name} (AUC {fmt(per_class[name]['auc'])})")
    ax.set_xlabel("1 - specificity (false positive rate)")
    ax.set_ylabel("sensitivity (true positive rate)")
    ax.set_title("ROC, one class vs rest")
    if drawn:
        ax.legend(loc="lower right")
    else:
        ax.text(0.5, 0.5, "no ROC: every class needs cases and non-cases", ha="center", va="center")
    figure.tight_layout()
    return _png_bytes(figure)


def reliability_png(bins: list[dict], ece: float | None) -> bytes:
    figure = _new_figure(5, 5)
    ax = figure.add_subplot()
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfect calibration")
    filled = [b for b in bins if b["count"]]
    ax.bar([(b["lower"] + b["upper"]) / 2 for b in filled], [b["accuracy"] for b in filled],
           width=[b["upper"] - b["lower"] for b in filled], edgecolor="black", alpha=0.7,
           label="accuracy in bin")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("top-label confidence")
    ax.set_ylabel("accuracy")
    ax.set_title(f"Reliability (ECE {fmt(ece)})")
    ax.legend(loc="upper left")
    figure.tight_layout()
    return _png_bytes(figure)


def write_report(report_dir: Path, results: dict, labels, probabilities, label_names: Sequence[str]) -> list[Path]:
    """Write the PNGs and summary.md into ``report_dir`` (created if needed); return their paths."""
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    labels, probabilities = metrics.validate_inputs(labels, probabilities, label_names)
    files = {
        "confusion_matrix.png": confusion_matrix_png(results["confusion_matrix"]["matrix"], label_names),
        "roc.png": roc_png(metrics.roc_curves(labels, probabilities, label_names), results["per_class"]),
        "reliability.png": reliability_png(metrics.reliability_bins(labels, probabilities), results["ece"]),
        "summary.md": markdown_summary(results).encode("utf-8"),
    }
    written = []
    for name, data in files.items():
        write_atomic(report_dir / name, data)
        written.append(report_dir / name)
    log.info("wrote report to %s", report_dir)
    return written
