"""`cxr adapt` in its own process, seen from Qt as signals carrying plain dicts (no torch here).

Training never runs in the viewer's process: a crash or out-of-memory there ends that
process only, and the UI thread only reads JSON lines. Cancel sends SIGTERM, which
`cxr adapt` turns into a clean stop (exit 130, nothing half-written); a process that
does not stop within KILL_AFTER_MS is killed.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
from collections import deque
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QTimer, Signal

log = logging.getLogger(__name__)

MODULE = "training.adapt.cli"
KILL_AFTER_MS = 10_000
CANCELLED_EXIT = 130


def adaptation_available() -> tuple[bool, str]:
    """(True, "") when `cxr adapt` can run from this installation, else (False, why not)."""
    if getattr(sys, "frozen", False) or importlib.util.find_spec("training") is None:
        return False, ("Adapting the model needs the training package, which this build does not include. "
                       "Use `cxr adapt` from a source installation (see the README).")
    return True, ""


def _arguments(data: Path, model: Path, label_map: str) -> list[str]:
    args = ["-m", MODULE, "--data", str(data), "--model", str(model), "--progress", "json"]
    return args + (["--label-map", label_map] if label_map.strip() else [])


class AdaptProcess(QObject):
    """One `cxr adapt` child at a time (plus a short-lived --check child)."""

    # Signal(object), not Signal(dict): a dict would become a QVariantMap and lose the
    # order of its keys (the model's class order).
    checked = Signal(object)  # dict: {"ok": bool, "counts": ..., "problems": ...}
    progress = Signal(object)  # dict: {"phase", "fraction", "overall", "eta_s", "loss"?, "held_out_macro_f1"?}
    done = Signal(object)  # dict: the run's adaptation.json, plus "model_dir"
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._run: QProcess | None = None
        self._check: QProcess | None = None
        self._out: Path | None = None
        self._error: str | None = None
        self._stderr: deque[str] = deque(maxlen=20)
        self._buffer = b""
        self._cancelling = False
        self._closed = False

    # ----- data check -----------------------------------------------------------------------------
    def check(self, data: Path, model: Path, label_map: str = "") -> None:
        if self._closed:
            return
        if self._check is not None:
            previous, self._check = self._check, None  # its finished signal is ignored from now on
            previous.kill()
            previous.waitForFinished(2000)
        process = QProcess(self)
        process.setProgram(sys.executable)
        process.setArguments([*_arguments(data, model, label_map), "--out", str(Path.home() / ".unused"),
                              "--check"])
        process.finished.connect(lambda code, status, p=process: self._check_finished(p))
        self._check = process
        process.start()

    def _check_finished(self, process: QProcess) -> None:
        if process is not self._check:
            return
        self._check = None
        found = None
        for line in bytes(process.readAllStandardOutput()).decode("utf-8", "replace").splitlines():
            event = _parse(line)
            if event and event.get("event") in ("data", "error"):
                found = event
        if found is None or found.get("event") == "error":
            problem = (found or {}).get("message") or _tail(bytes(process.readAllStandardError()))
            found = {"ok": False, "problems": problem or "the data check did not run"}
        self.checked.emit(found)
        process.deleteLater()

    # ----- the run ----------------------------------------------------------------------------------
    def start(self, data: Path, model: Path, out: Path, label_map: str = "", extra: list[str] | None = None) -> None:
        if self.is_running() or self._closed:
            raise RuntimeError("an adaptation is already running" if not self._closed else "shut down")
        process = QProcess(self)
        process.setProgram(sys.executable)
        process.setArguments([*_arguments(data, model, label_map), "--out", str(out), *(extra or [])])
        process.readyReadStandardOutput.connect(self._read_stdout)
        process.readyReadStandardError.connect(self._read_stderr)
        process.finished.connect(self._finished)
        process.errorOccurred.connect(self._process_error)
        self._run, self._out, self._error, self._buffer, self._cancelling = process, out, None, b"", False
        self._stderr.clear()
        process.start()

    def is_running(self) -> bool:
        return self._run is not None and self._run.state() != QProcess.ProcessState.NotRunning

    def cancel(self) -> None:
        """Ask the child to stop (SIGTERM); killed if it has not stopped after KILL_AFTER_MS."""
        if not self.is_running():
            return
        self._cancelling = True
        self._run.terminate()
        QTimer.singleShot(KILL_AFTER_MS, self._kill_if_running)

    def shutdown(self, timeout_ms: int = KILL_AFTER_MS) -> None:
        """Stop every child before the window goes away; never leaves a process behind."""
        self._closed = True
        check, self._check = self._check, None
        if check is not None:
            check.finished.disconnect()
        for process in (self._run, check):
            if process is not None and process.state() != QProcess.ProcessState.NotRunning:
                self._cancelling = process is self._run
                process.terminate()
                if not process.waitForFinished(timeout_ms):
                    process.kill()
                    process.waitForFinished(2000)

    def _kill_if_running(self) -> None:
        if self.is_running():
            log.warning("adaptation did not stop after SIGTERM; killing it")
            self._run.kill()

    def _read_stdout(self) -> None:
        self._buffer += bytes(self._run.readAllStandardOutput())
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            event = _parse(line.decode("utf-8", "replace"))
            if event is None:
                continue
            if event.get("event") == "progress":
                self.progress.emit(event)
            elif event.get("event") == "error":
                self._error = event.get("message")

    def _read_stderr(self) -> None:
        for line in bytes(self._run.readAllStandardError()).decode("utf-8", "replace").splitlines():
            if line.strip() and "cache view" not in line:
                self._stderr.append(line.strip())

    def _finished(self, code: int, status) -> None:
        process, self._run = self._run, None
        if self._cancelling or code == CANCELLED_EXIT:
            self.cancelled.emit()
        elif status == QProcess.ExitStatus.CrashExit:
            self.failed.emit("The adaptation process crashed (" + ("; ".join(self._stderr) or "no message") + ").")
        elif code != 0:
            self.failed.emit(self._error or "; ".join(list(self._stderr)[-3:]) or f"cxr adapt exited with {code}")
        else:
            self._emit_done()
        if process is not None:
            process.deleteLater()

    def _emit_done(self) -> None:
        try:
            report = json.loads((self._out / "adaptation.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            self.failed.emit(f"The adapted model's report cannot be read: {exc}")
            return
        self.done.emit({**report, "model_dir": str(self._out)})

    def _process_error(self, error) -> None:
        if error == QProcess.ProcessError.FailedToStart and self._run is not None:
            process, self._run = self._run, None  # no finished signal follows a failed start
            self.failed.emit(f"cxr adapt could not be started ({process.errorString()}).")


def _parse(line: str) -> dict | None:
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _tail(data: bytes) -> str:
    lines = [line for line in data.decode("utf-8", "replace").splitlines() if line.strip()]
    return lines[-1] if lines else ""
