"""Recognise a file's format from its first bytes, not its name."""

from __future__ import annotations

import struct
from pathlib import Path

HEAD_BYTES = 512

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"

# Formats we do not read, so the error can say what the file actually is.
_OTHER_FORMATS: tuple[tuple[bytes, str], ...] = (
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"BM", "a BMP image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x00\x00\x00\x0cjP  ", "a JPEG 2000 file (not wrapped in DICOM)"),
    (b"\xff\x4f\xff\x51", "a raw JPEG 2000 codestream (not wrapped in DICOM)"),
)

# Groups a DICOM data set without preamble plausibly starts with (little or big endian).
_FIRST_GROUPS = frozenset({0x0002, 0x0008})


def sniff_kind(source: bytes | str | Path) -> str | None:
    """'dicom', 'png' or 'jpeg' from a file's first bytes (or its path), or None.

    A path that cannot be read raises OSError.
    """
    head = source if isinstance(source, bytes) else read_head(Path(source))
    if head.startswith(PNG_MAGIC):
        return "png"
    if head.startswith(JPEG_MAGIC):
        return "jpeg"
    if head[128:132] == b"DICM":
        return "dicom"
    if looks_like_bare_dicom(head):
        return "dicom"
    return None


def read_head(path: Path, size: int = HEAD_BYTES) -> bytes:
    """The first ``size`` bytes of a file (fewer if it is shorter). Raises OSError."""
    with open(path, "rb") as fh:
        return fh.read(size)


def looks_like_bare_dicom(head: bytes) -> bool:
    """True if the bytes start like a DICOM data set written without preamble and 'DICM'.

    Such files (old ACR-NEMA style, or written by some PACS exports) start straight
    with an element tag. We check the first tag's group and that its VR or length is
    sane; the loader then confirms with a forced parse.
    """
    if len(head) < 8:
        return False
    for endian in "<>":
        group, _elem = struct.unpack(endian + "HH", head[:4])
        if group not in _FIRST_GROUPS:
            continue
        vr = head[4:6]
        if vr.isalpha() and vr.isupper():
            return True  # explicit VR
        (length,) = struct.unpack(endian + "I", head[4:8])
        if length < 1024:
            return True  # implicit VR with a plausible short first value
    return False


def describe_non_image(head: bytes) -> str:
    """The error message tail for a file that is none of our formats."""
    what = next((w for magic, w in _OTHER_FORMATS if head.startswith(magic)), None)
    if what is None and _looks_like_text(head):
        what = "a text file"
    hint = f" (it looks like {what})" if what else ""
    return f"not a DICOM, PNG or JPEG image{hint}"


def _looks_like_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # A multi-byte character cut at the end of the sample is still text.
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return printable >= 0.95 * len(text)
