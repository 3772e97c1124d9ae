"""What one load of a mutant did, and whether its error message leaked anything."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydicom.uid import UID

from cxrviewer.io import ImageLoadError, LoadedImage
from cxrviewer.io.errors import MAX_MESSAGE

# Exclusive outcomes. A clean rejection is an ImageLoadError that is none of the others.
DECODED, REJECTED, CRASH, HANG, MEMORY_ERROR, UNCAUGHT = (
    "decoded", "rejected", "crash", "hang", "memory_error", "uncaught")
OUTCOMES = (DECODED, REJECTED, CRASH, HANG, MEMORY_ERROR, UNCAUGHT)
_UID_LIKE = re.compile(r"\d+(?:\.\d+){4,}")  # five or more dotted numbers
_CRASH_HOW = re.compile(r"the decoder crashed on this file \(([^)]*)\)")


@dataclass
class Outcome:
    kind: str
    error_type: str = ""
    message: str = ""
    leaks: list[str] = field(default_factory=list)  # why the message is a leak (empty: it is not)
    crash_how: str = ""  # "signal SIGABRT", "exit status 1", ...
    bad_image: str = ""  # a decoded image that breaks LoadedImage's promises
    seconds: float = 0.0
    peak_rss: int | None = None  # bytes, the decoder's high-water mark for this file
    rss_after: int | None = None  # bytes the decoder holds once done: grows if it leaks
    budget: int | None = None
    over_budget: bool = False

    @property
    def failed(self) -> bool:
        return self.kind not in (DECODED, REJECTED) or bool(self.leaks) or self.over_budget or bool(self.bad_image)


def classify(result: LoadedImage | None, error: BaseException | None, identifiers: tuple[str, ...],
             folder: Path) -> Outcome:
    if error is None:
        return Outcome(DECODED, bad_image=_broken_promise(result))
    if not isinstance(error, ImageLoadError):
        text = str(error)
        return Outcome(UNCAUGHT, type(error).__name__, text, leak_reasons(text, identifiers, folder))
    text = str(error)
    kind = REJECTED
    if (how := _CRASH_HOW.search(text)) is not None:
        kind = CRASH
    elif "decoding took longer than" in text:
        kind = HANG
    elif "not enough memory" in text:
        kind = MEMORY_ERROR
    return Outcome(kind, type(error).__name__, text, leak_reasons(text, identifiers, folder),
                   crash_how=how.group(1) if how else "")


def leak_reasons(message: str, identifiers: tuple[str, ...], folder: Path) -> list[str]:
    """Why a message must not be shown as it is: too long, unprintable, quoting an
    identifier or an unregistered UID, or naming the folder."""
    reasons = []
    if len(message) > MAX_MESSAGE:
        reasons.append("longer than 300 characters")
    if not message.isprintable():
        reasons.append("non-printable characters")
    if any(value in message for value in identifiers):
        reasons.append("an identifier from the file")
    if any(_private_uid(uid) for uid in _UID_LIKE.findall(message)):
        reasons.append("an unregistered UID")
    if folder.name in message or str(folder.parent) + "/" in message:
        reasons.append("a folder of the path")
    return reasons


def _private_uid(uid: str) -> bool:
    """Not a UID of the standard itself: the DICOM root (1.2.840.10008) names only classes,
    syntaxes and well-known instances, never a patient's study or image."""
    return not uid.startswith("1.2.840.10008.") and UID(uid).name == uid


def _broken_promise(image: LoadedImage) -> str:
    pixels = image.pixels
    if pixels.ndim != 2 or pixels.dtype != np.float32 or 0 in pixels.shape:
        return f"pixels {pixels.dtype} {pixels.shape}"
    if not np.isfinite(pixels).all():
        return "non-finite pixels"
    window = image.window
    if not (np.isfinite(window.center) and np.isfinite(window.width) and window.width > 0):
        return "unusable default window"
    return ""


def redact(message: str, identifiers: tuple[str, ...], folder: Path) -> str:
    """A message fit for the report: identifiers and the folder replaced, at most 300 printable characters."""
    for value in identifiers:
        message = message.replace(value, "<identifier>")
    message = _UID_LIKE.sub(lambda m: "<uid>" if _private_uid(m.group(0)) else m.group(0), message)
    message = message.replace(str(folder), "<folder>").replace(folder.name, "<folder>")
    message = "".join(ch if ch.isprintable() else "?" for ch in message)
    return message[:MAX_MESSAGE]
