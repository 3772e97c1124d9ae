"""The batch report: one row per analysed image, as CSV and JSON, written atomically (no Qt).

Every row carries the image's Study, Series and SOP Instance UIDs and accession number
(empty for PNG/JPEG), so a result links back to the PACS and the RIS order. Privacy: by
default nothing else from the header is written and the image is named by its file name
only. ``include_identifiers=True`` (the reader ticked "Include patient identifiers") adds
the full path and the patient name and ID, for every row: they come from the header the loader read when
the file was listed, not only from the images that were displayed.
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
from cxrviewer.io.dicom_identity import NO_IDENTITY, ImageIdentity
from cxrviewer.io.display_basics import format_person_name

from .dialogs import NOT_FOR_DIAGNOSIS

BASE_COLUMNS = ("file", "label", "confidence", "uncertain", "ood_flag", "ood_score")
LINK_COLUMNS = ("study_instance_uid", "series_instance_uid", "sop_instance_uid", "accession_number")
IDENTIFIER_COLUMNS = ("path", "patient_name", "patient_id")


def report_rows(results: Mapping[Path, object], labels: Sequence[str], include_identifiers: bool = False,
                identities: Mapping[Path, ImageIdentity] | None = None) -> list[dict]:
    """Plain dicts, in the order given; ``results`` maps image path -> InferenceResult,
    ``identities`` image path -> what its header said (missing: a file that names nothing)."""
    rows = []
    for path, result in results.items():
        ident = (identities or {}).get(path, NO_IDENTITY)
        row = {
            "file": path.name,
            "label": result.label,
            "confidence": round(float(result.confidence), 6),
            "uncertain": bool(result.uncertain),
            "ood_flag": bool(result.ood_flag),
            "ood_score": round(float(result.ood_score), 4),
        }
        row.update({f"p_{label}": _rounded(result.probabilities.get(label)) for label in labels})
        row.update({"study_instance_uid": ident.study_uid, "series_instance_uid": ident.series_uid,
                    "sop_instance_uid": ident.sop_instance_uid, "accession_number": ident.accession_number})
        if include_identifiers:
            row.update({"path": str(path), "patient_name": format_person_name(ident.patient_name),
                        "patient_id": ident.patient_id})
        rows.append(row)
    return rows


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def columns(labels: Sequence[str], include_identifiers: bool) -> list[str]:
    names = [*BASE_COLUMNS, *(f"p_{label}" for label in labels), *LINK_COLUMNS]
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
