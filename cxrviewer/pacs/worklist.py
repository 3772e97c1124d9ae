"""The triage worklist `cxr listen` keeps: one entry per received radiograph, as JSON and CSV.

Both files are rewritten atomically after every change (a reader, the viewer's AI inbox
included, never sees half a file) and hold the same entries in the same order: most
suspicious first (default) or newest first. "Suspicion" is the highest probability of
a class other than *normal*; readings the model flagged as unlike its training images
(OOD), failures and images still waiting come after the readings it stands behind.

The files hold patient identifiers (a worklist must say whose film it is), so they are
written into the listener's private output folder; nothing here logs them.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cxrviewer.atomic_files import atomic_write_bytes

JSON_NAME, CSV_NAME = "worklist.json", "worklist.csv"
FORMAT_VERSION = 1
QUEUED, READ, FAILED, ABANDONED = "queued", "read", "failed", "abandoned"
SUSPICIOUS, NEWEST = "suspicious", "newest"
ORDERS = (SUSPICIOUS, NEWEST)
NORMAL_LABELS = ("normal", "no finding", "no_finding")
CSV_COLUMNS = ("received", "status", "suspicion", "label", "confidence", "uncertain", "ood", "patient_id",
               "patient_name", "accession", "study_date", "modality", "study_uid", "series_uid", "sop_uid",
               "forwarded", "error", "path")


@dataclass(frozen=True)
class WorklistEntry:
    received: str  # ISO 8601 with time zone, when the image arrived
    sop_uid: str
    study_uid: str
    series_uid: str
    path: str  # the received file
    modality: str = ""
    patient_id: str = ""
    patient_name: str = ""
    accession: str = ""
    study_date: str = ""
    status: str = QUEUED
    label: str | None = None
    confidence: float | None = None
    probabilities: Mapping[str, float] | None = None
    uncertain: bool | None = None
    ood: bool | None = None
    suspicion: float | None = None
    forwarded: bool | None = None  # None: no forward node, or not read
    error: str | None = None
    sequence: int = field(default=0, compare=False)  # arrival order (ties in the clock)

    def read(self, record: Mapping) -> WorklistEntry:
        """This entry with a `cxr predict` record's reading (ok or failed)."""
        if not record.get("ok"):
            return dataclasses.replace(self, status=FAILED, error=str(record.get("error") or "not read"))
        probabilities = {k: v for k, v in (record.get("probabilities") or {}).items() if v is not None}
        return dataclasses.replace(
            self, status=READ, label=record.get("label"), confidence=record.get("confidence"),
            probabilities=probabilities, uncertain=bool(record.get("uncertain")),
            ood=bool((record.get("ood") or {}).get("flag")), suspicion=suspicion(probabilities), error=None)

    def to_json(self) -> dict:
        data = dataclasses.asdict(self)
        data["probabilities"] = dict(self.probabilities) if self.probabilities is not None else None
        return data

    @classmethod
    def from_json(cls, data: Mapping) -> WorklistEntry:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def suspicion(probabilities: Mapping[str, float]) -> float | None:
    """The highest probability of a class that is not 'normal' (None without such a class)."""
    values = [float(p) for label, p in probabilities.items() if label.lower() not in NORMAL_LABELS]
    return max(values) if values else None


def ordered(entries: Iterable[WorklistEntry], order: str = SUSPICIOUS) -> list[WorklistEntry]:
    newest_first = sorted(entries, key=lambda e: (e.received, e.sequence), reverse=True)
    if order == NEWEST:
        return newest_first

    def key(entry: WorklistEntry) -> tuple:
        if entry.status == READ and not entry.ood:
            return (0, -(entry.suspicion or 0.0))
        if entry.status == READ:
            return (1, -(entry.suspicion or 0.0))
        return (2 if entry.status == QUEUED else 3, 0.0)

    return sorted(newest_first, key=key)  # stable: newest first within a rank


class Worklist:
    """Thread-safe entries by SOP Instance UID, saved to ``folder`` after every change."""

    def __init__(self, folder: Path, order: str = SUSPICIOUS) -> None:
        if order not in ORDERS:
            raise ValueError(f"order must be one of {', '.join(ORDERS)}")
        self.folder = Path(folder)
        self.order = order
        self._entries: dict[str, WorklistEntry] = {}
        self._lock = threading.Lock()
        self._sequence = 0
        for entry in load_entries(self.folder / JSON_NAME):  # a restarted listener keeps its worklist
            self._entries[entry.sop_uid] = entry
            self._sequence = max(self._sequence, entry.sequence)

    def put(self, entry: WorklistEntry) -> WorklistEntry:
        with self._lock:
            self._sequence += 1
            entry = dataclasses.replace(entry, sequence=self._sequence)
            self._entries[entry.sop_uid] = entry
            self._save_locked()
            return entry

    def update(self, sop_uid: str, **changes) -> WorklistEntry | None:
        with self._lock:
            entry = self._entries.get(sop_uid)
            if entry is None:
                return None
            entry = self._entries[sop_uid] = dataclasses.replace(entry, **changes)
            self._save_locked()
            return entry

    def replace(self, entry: WorklistEntry) -> None:
        with self._lock:
            self._entries[entry.sop_uid] = entry
            self._save_locked()

    def get(self, sop_uid: str) -> WorklistEntry | None:
        with self._lock:
            return self._entries.get(sop_uid)

    def entries(self) -> list[WorklistEntry]:
        with self._lock:
            return ordered(self._entries.values(), self.order)

    def abandon_queued(self, reason: str) -> int:
        """Mark every entry still waiting as abandoned (the listener is stopping); returns how many."""
        with self._lock:
            waiting = [e for e in self._entries.values() if e.status == QUEUED]
            for entry in waiting:
                self._entries[entry.sop_uid] = dataclasses.replace(entry, status=ABANDONED, error=reason)
            if waiting:
                self._save_locked()
            return len(waiting)

    def _save_locked(self) -> None:
        entries = ordered(self._entries.values(), self.order)
        document = {"format": "cxrviewer-worklist", "version": FORMAT_VERSION, "order": self.order,
                    "note": "AI triage, research use only, not for diagnosis",
                    "entries": [e.to_json() for e in entries]}
        atomic_write_bytes(self.folder / JSON_NAME, json.dumps(document, indent=1, allow_nan=False).encode())
        atomic_write_bytes(self.folder / CSV_NAME, _csv(entries).encode("utf-8"))


def load_entries(path: Path) -> list[WorklistEntry]:
    """The entries of a worklist.json in its saved order ([] when missing or unreadable)."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(document, dict) or document.get("format") != "cxrviewer-worklist":
        return []
    entries = []
    for item in document.get("entries") or ():
        try:
            entries.append(WorklistEntry.from_json(item))
        except TypeError:
            continue
    return entries


def _csv(entries: list[WorklistEntry]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        data = entry.to_json()
        writer.writerow(["" if data[c] is None else _cell(data[c]) for c in CSV_COLUMNS])
    return buffer.getvalue()


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    text = str(value)
    # A spreadsheet runs a cell that starts with = + - @ as a formula: a patient name must not.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
