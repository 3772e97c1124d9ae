"""The batch report: one row per analysed image, as CSV and JSON, written atomically (no Qt).

Privacy: by default a row names the image by its file name only, and nothing from
the image header is written. ``include_identifiers=True`` (the reader ticked
"Include patient identifiers") adds the full path and the patient name and ID
known for the image.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

from cxrviewer import __version__
from cxrviewer.atomic_files import atomic_write_bytes

from .dialogs import NOT_FOR_DIAGNOSIS

BASE_COLUMNS = ("file", "label", "confidence", "uncertain", "ood_flag", "ood_score")
IDENTIFIER_COLUMNS = ("path", "patient_name", "patient_id")


def report_rows(results: Mapping[Path, object], labels: Sequence[str], include_identifiers: bool = False,
                patients: Mapping[Path, Mapping[str, str]] | None = None) -> list[dict]:
    """Plain dicts, in the order given; ``results`` maps image path -> InferenceResult."""
    rows = []
    for path, result in results.items():
        row = {
            "file": path.name,
            "label": result.label,
            "confidence": round(float(result.confidence), 6),
            "uncertain": bool(result.uncertain),
            "ood_flag": bool(result.ood_flag),
            "ood_score": round(float(result.ood_score), 4),
        }
        row.update({f"p_{label}": _rounded(result.probabilities.get(label)) for label in labels})
        if include_identifiers:
            known = (patients or {}).get(path, {})
            row.update({"path": str(path), "patient_name": known.get("patient_name", ""),
                        "patient_id": known.get("patient_id", "")})
        rows.append(row)
    return rows


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def columns(labels: Sequence[str], include_identifiers: bool) -> list[str]:
    names = [*BASE_COLUMNS, *(f"p_{label}" for label in labels)]
    return names + list(IDENTIFIER_COLUMNS) if include_identifiers else names


def csv_text(rows: list[dict], names: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(names), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def json_text(rows: list[dict], model: Mapping[str, str]) -> str:
    payload = {
        "research_use_only": NOT_FOR_DIAGNOSIS,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cxrviewer_version": __version__,
        "model": dict(model),
        "images": rows,
    }
    return json.dumps(payload, indent=2, allow_nan=False) + "\n"


def write_text_atomic(path: Path, text: str) -> None:
    """UTF-8 text written atomically: a reader never sees half a report."""
    atomic_write_bytes(path, text.encode("utf-8"))


def write_report(base: Path, rows: list[dict], names: Sequence[str], model: Mapping[str, str]) -> tuple[Path, Path]:
    """Write ``base``.csv and ``base``.json; returns both paths."""
    base = Path(base)
    stem = base.with_suffix("") if base.suffix.lower() in (".csv", ".json") else base
    csv_path, json_path = stem.with_suffix(".csv"), stem.with_suffix(".json")
    write_text_atomic(csv_path, csv_text(rows, names))
    write_text_atomic(json_path, json_text(rows, model))
    return csv_path, json_path
