"""A C-STORE SCP that reads every chest radiograph it receives (no Qt, no torch: the reading is injected).

Modalities and PACS routers send images here (pynetdicom). Each association runs in its
own pynetdicom thread, which only checks and files the image; the model runs in one
worker thread fed by a bounded queue (the shared cxrviewer.tasks TaskQueue). When the
queue is full the sender is told "out of resources" (0xA700) and retries later, so a
burst never piles up in memory. Objects that are not CR/DX images for presentation
are accepted and skipped with a message naming their SOP class and modality only.

``stop()`` stops accepting, lets the image being read finish, and marks the images
still waiting as abandoned in the worklist: no file is ever half-written (the
received images, the worklist and its CSV are all written atomically).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydicom import Dataset
from pynetdicom import ALL_TRANSFER_SYNTAXES, AE, AllStoragePresentationContexts, evt
from pynetdicom.sop_class import Verification

from cxrviewer.tasks.queue import Lane, QueueFullError, TaskQueue

from .cache import InstanceCache, check_uid
from .errors import PacsError
from .node import check_ae_title
from .query import DEFAULT_MODALITIES
from .retrieve import InstanceRef, skip_reason
from .worklist import FAILED, QUEUED, SUSPICIOUS, Worklist, WorklistEntry

log = logging.getLogger(__name__)

INBOX = "inbox"
SUCCESS, OUT_OF_RESOURCES, CANNOT_UNDERSTAND = 0x0000, 0xA700, 0xC210
DEFAULT_QUEUE = 64
DEFAULT_TIMEOUT_S = 30.0
STOPPED_REASON = "not read: the listener stopped before reaching it"

# What reads one image: (cxr predict record, InferenceResult or None, LoadedImage or None).
Reader = Callable[[Path], tuple[Mapping, Any, Any]]
# What sends one reading on (raises PacsError); None: no forward node.
Forwarder = Callable[[InstanceRef, Mapping, Any, Any], None]


@dataclass(frozen=True)
class ListenerConfig:
    ae_title: str
    port: int
    out_dir: Path
    host: str = "0.0.0.0"
    queue_size: int = DEFAULT_QUEUE
    timeout_s: float = DEFAULT_TIMEOUT_S
    modalities: tuple[str, ...] = DEFAULT_MODALITIES
    order: str = SUSPICIOUS
    image_store_bytes: int = 4 * 2**30

    def __post_init__(self) -> None:
        check_ae_title(self.ae_title, "--aet")
        if not 0 < int(self.port) < 65536:
            raise PacsError(f"port {self.port} is not in 1-65535")
        if self.queue_size < 1:
            raise PacsError("the queue needs room for at least one image")


@dataclass(frozen=True)
class ListenerEvent:
    """One line for the operator (no patient data): what happened to one object."""

    number: int  # the object's arrival number in this run
    kind: str  # "queued", "skipped", "refused", "read", "failed", "forwarded", "not forwarded"
    text: str


@dataclass
class Counts:
    received: int = 0
    skipped: int = 0
    refused: int = 0
    read: int = 0
    failed: int = 0
    forwarded: int = 0
    not_forwarded: int = 0
    abandoned: int = 0


class StoreListener:
    def __init__(self, config: ListenerConfig, read: Reader, forward: Forwarder | None = None,
                 report: Callable[[ListenerEvent], None] = lambda event: None) -> None:
        self.config = config
        self._read, self._forward, self._report = read, forward, report
        self.worklist = Worklist(config.out_dir, config.order)
        self.images = InstanceCache(Path(config.out_dir) / "images", config.image_store_bytes)
        self.counts = Counts()
        self._queue = TaskQueue([Lane(INBOX, max_waiting=config.queue_size)])
        self._lock = threading.Lock()
        self._numbers = 0
        self._stopping = threading.Event()
        self._ae: AE | None = None
        self._worker: threading.Thread | None = None

    # ----- lifetime ------------------------------------------------------------------------------
    def start(self) -> None:
        """Bind the port and start the reader thread; PacsError when the port cannot be had."""
        Path(self.config.out_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
        ae = AE(ae_title=self.config.ae_title)
        for timeout in ("acse_timeout", "dimse_timeout", "network_timeout"):
            setattr(ae, timeout, self.config.timeout_s)
        ae.maximum_pdu_size = 0  # no limit on what we receive: films are large
        for context in AllStoragePresentationContexts:
            ae.add_supported_context(context.abstract_syntax, ALL_TRANSFER_SYNTAXES)
        ae.add_supported_context(Verification)
        handlers = [(evt.EVT_C_STORE, self._on_store)]
        try:
            ae.start_server((self.config.host, int(self.config.port)), block=False, evt_handlers=handlers)
        except OSError as exc:
            ae.shutdown()
            raise PacsError(f"cannot listen on {self.config.host}:{self.config.port} "
                            f"({exc.strerror or type(exc).__name__})") from None
        self._ae = ae
        self._worker = threading.Thread(target=self._work, name="cxr-listen-reader")
        self._worker.start()

    def stop(self, wait_s: float = 600.0) -> None:
        """Stop accepting, finish the image being read, abandon the rest (marked in the worklist)."""
        self._stopping.set()
        if self._ae is not None:
            self._ae.shutdown()  # closes the port and aborts associations still open
            self._ae = None
        self._queue.stop()  # take() returns None; the image being read is finished first
        if self._worker is not None:
            self._worker.join(wait_s)
            if self._worker.is_alive():
                log.error("the reader did not finish within %.0f s", wait_s)
        self.counts.abandoned += self.worklist.abandon_queued(STOPPED_REASON)

    def pending(self) -> int:
        return self._queue.pending()

    # ----- receiving (pynetdicom's association threads) ---------------------------------------------
    def _on_store(self, event) -> int:
        number = self._next_number()
        if self._stopping.is_set():
            return OUT_OF_RESOURCES
        try:
            ds = event.dataset
            ds.file_meta = event.file_meta
            sop_class = str(ds.SOPClassUID)
        except Exception:  # noqa: BLE001 - whatever the peer sent, it cannot stop the listener
            log.debug("undecodable object", exc_info=True)
            return self._refuse(number, "could not be decoded", CANNOT_UNDERSTAND)
        modality = str(ds.get("Modality", ""))
        reason = skip_reason(ds, {str(ds.get("SeriesInstanceUID", "")): modality}, self.config.modalities)
        if reason or "PixelData" not in ds:
            self._count("skipped")
            self._say(number, "skipped", (reason or f"skipped object ({sop_class}): no pixel data"))
            return SUCCESS  # accepted, nothing for the model: the sender need not retry
        try:
            study, series, sop = (check_uid(str(ds.get(k, "")), k) for k in
                                  ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"))
            path = self.images.put(study, series, sop, ds)
        except PacsError as exc:
            return self._refuse(number, f"not kept ({_no_values(exc)})", OUT_OF_RESOURCES)
        self.worklist.put(_entry(ds, modality, study, series, sop, path))
        try:
            self._queue.put(INBOX, (number, InstanceRef(study, series, sop, path)))
        except QueueFullError:
            self.worklist.update(sop, status=FAILED, error="not read: the queue was full; the sender was "
                                                            "asked to send it again")
            return self._refuse(number, f"queue full ({self.config.queue_size} waiting); asked the sender to retry",
                                OUT_OF_RESOURCES)
        self._count("received")
        self._say(number, "queued", f"{modality} image queued ({self._queue.pending()} to read)")
        return SUCCESS

    def _refuse(self, number: int, why: str, status: int) -> int:
        self._count("refused")
        self._say(number, "refused", f"refused an object: {why}")
        return status

    # ----- reading (the one worker thread) ------------------------------------------------------------
    def _work(self) -> None:
        while (task := self._queue.take()) is not None:
            try:
                self._read_one(*task.payload)
            except Exception:  # noqa: BLE001 - a bug with one image must not end the listener
                log.exception("reading an image failed unexpectedly")
            finally:
                self._queue.done(task)
        self.images.evict(keep=[Path(e.path) for e in self.worklist.entries() if e.status == QUEUED])

    def _read_one(self, number: int, ref: InstanceRef) -> None:
        entry = self.worklist.get(ref.sop_uid)
        if entry is None or entry.status != QUEUED:
            return
        try:
            record, result, image = self._read(ref.path)
        except Exception as exc:  # noqa: BLE001
            log.debug("read failed", exc_info=True)
            record, result, image = {"ok": False, "error": f"could not be read ({type(exc).__name__})"}, None, None
        entry = entry.read(record)
        if not record.get("ok"):
            self._count("failed")
            self.worklist.replace(entry)
            self._say(number, "failed", f"not read: {entry.error}")
            return
        self._count("read")
        flags = " [uncertain]" if entry.uncertain else ""
        flags += " [unlike the training images]" if entry.ood else ""
        reading = f"{entry.label} {100 * (entry.confidence or 0):.0f}%{flags}"
        if self._forward is not None:
            try:
                self._forward(ref, record, result, image)
                entry = _replace(entry, forwarded=True)
                self._count("forwarded")
            except (PacsError, OSError, ValueError) as exc:
                entry = _replace(entry, forwarded=False, error=f"results not forwarded: {_no_values(exc)}")
                self._count("not_forwarded")
                self.worklist.replace(entry)
                self._say(number, "not forwarded", f"read: {reading}; results not forwarded: {_no_values(exc)}")
                return
        self.worklist.replace(entry)
        self._say(number, "forwarded" if self._forward else "read",
                  f"read: {reading}" + ("; results forwarded" if self._forward else ""))

    # ----- bookkeeping -----------------------------------------------------------------------------------
    def _next_number(self) -> int:
        with self._lock:
            self._numbers += 1
            return self._numbers

    def _count(self, name: str) -> None:
        with self._lock:
            setattr(self.counts, name, getattr(self.counts, name) + 1)

    def _say(self, number: int, kind: str, text: str) -> None:
        try:
            self._report(ListenerEvent(number, kind, text))
        except Exception:  # noqa: BLE001 - a broken stderr must not fail a C-STORE
            log.debug("report failed", exc_info=True)


def _entry(ds: Dataset, modality: str, study: str, series: str, sop: str, path: Path) -> WorklistEntry:
    return WorklistEntry(
        received=dt.datetime.now(dt.timezone.utc).astimezone().isoformat(timespec="milliseconds"),
        sop_uid=sop, study_uid=study, series_uid=series, path=str(path), modality=modality,
        patient_id=str(ds.get("PatientID", "")), patient_name=str(ds.get("PatientName", "")),
        accession=str(ds.get("AccessionNumber", "")), study_date=str(ds.get("StudyDate", "")))


def _replace(entry: WorklistEntry, **changes) -> WorklistEntry:
    return dataclasses.replace(entry, **changes)


def _no_values(exc: BaseException) -> str:
    """An error message for the operator: PacsError messages name no patient; others only by type."""
    return str(exc) if isinstance(exc, PacsError) else type(exc).__name__
