"""Where each top-level DICOM element lies in a file's bytes, and how to write one.

The fuzzer edits files at the byte level (a header edit must be able to say things
pydicom would refuse to write: a 3-byte US value, a length past the end), so it needs
the offsets of the seed's elements. Seeds are well formed, so a simple walker will do.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from pydicom.datadict import dictionary_VR

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
DEFLATED = "1.2.840.10008.1.2.1.99"
LONG_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"})
UNDEFINED = 0xFFFFFFFF
ITEM, ITEM_END, SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
TS_TAG = 0x00020010
PREAMBLE = 132  # 128 bytes + "DICM"


@dataclass(frozen=True)
class Element:
    tag: int
    vr: str  # "" where the encoding is implicit and the dictionary does not know the tag
    start: int  # offset of the tag
    value_start: int
    length: int  # as stored; UNDEFINED for undefined length
    end: int  # just after the element (its delimiters included)


@dataclass(frozen=True)
class Encoding:
    implicit: bool
    little: bool

    @property
    def endian(self) -> str:
        return "<" if self.little else ">"


META = Encoding(implicit=False, little=True)


@dataclass(frozen=True)
class Layout:
    meta: tuple[Element, ...]
    data: tuple[Element, ...]  # empty for a deflated data set
    encoding: Encoding
    transfer_syntax: str

    def find(self, tag: int) -> Element | None:
        for elem in (self.meta if tag >> 16 == 2 else self.data):
            if elem.tag == tag:
                return elem
        return None


def parse_layout(data: bytes) -> Layout:
    """The element offsets of a well-formed file with preamble (raises on anything else)."""
    if data[128:132] != b"DICM":
        raise ValueError("not a DICOM file with preamble")
    meta, pos = [], PREAMBLE
    while pos + 8 <= len(data) and struct.unpack_from("<H", data, pos)[0] == 2:
        elem = read_element(data, pos, META)
        meta.append(elem)
        pos = elem.end
    ts_elem = next((e for e in meta if e.tag == TS_TAG), None)
    ts = ""
    if ts_elem is not None:
        ts = data[ts_elem.value_start : ts_elem.value_start + ts_elem.length].decode("ascii").strip("\0 ")
    encoding = Encoding(implicit=ts == IMPLICIT_LE, little=ts != EXPLICIT_BE)
    elements = []
    while ts != DEFLATED and pos + 8 <= len(data):
        elem = read_element(data, pos, encoding)
        elements.append(elem)
        pos = elem.end
    return Layout(tuple(meta), tuple(elements), encoding, ts)


def read_element(data: bytes, pos: int, enc: Encoding) -> Element:
    group, number = struct.unpack_from(enc.endian + "HH", data, pos)
    tag = group << 16 | number
    if enc.implicit or group == 0xFFFE:
        (length,) = struct.unpack_from(enc.endian + "I", data, pos + 4)
        vr, header = _dictionary_vr(tag) if group != 0xFFFE else "", 8
    else:
        vr = data[pos + 4 : pos + 6].decode("latin-1")
        if vr in LONG_VRS:
            (length,) = struct.unpack_from(enc.endian + "I", data, pos + 8)
            header = 12
        else:
            (length,) = struct.unpack_from(enc.endian + "H", data, pos + 6)
            header = 8
    value_start = pos + header
    end = _skip_undefined(data, value_start, enc) if length == UNDEFINED else value_start + length
    return Element(tag, vr, pos, value_start, length, end)


def _dictionary_vr(tag: int) -> str:
    try:
        return dictionary_VR(tag)
    except KeyError:
        return ""


def _skip_undefined(data: bytes, pos: int, enc: Encoding) -> int:
    """Offset after the Sequence Delimitation Item closing an undefined-length value."""
    while pos + 8 <= len(data):
        tag, length = _item_header(data, pos, enc)
        if tag == SEQ_END:
            return pos + 8
        if length != UNDEFINED:
            pos += 8 + length
            continue
        pos += 8
        while pos + 8 <= len(data) and _item_header(data, pos, enc)[0] != ITEM_END:
            pos = read_element(data, pos, enc).end
        pos += 8
    return len(data)


def _item_header(data: bytes, pos: int, enc: Encoding) -> tuple[int, int]:
    group, number, length = struct.unpack_from(enc.endian + "HHI", data, pos)
    return group << 16 | number, length


# ----- writing --------------------------------------------------------------------------------
def encode_element(tag: int, vr: str, value: bytes, enc: Encoding, length: int | None = None) -> bytes:
    """One element's bytes; ``length`` overrides the stored length (to lie about it)."""
    stored = len(value) if length is None else length
    head = struct.pack(enc.endian + "HH", tag >> 16, tag & 0xFFFF)
    if enc.implicit or tag >> 16 == 0xFFFE:
        return head + struct.pack(enc.endian + "I", stored) + value
    vr_bytes = vr.encode("latin-1")[:2].ljust(2, b" ")
    if vr in LONG_VRS:
        return head + vr_bytes + b"\0\0" + struct.pack(enc.endian + "I", stored & UNDEFINED) + value
    return head + vr_bytes + struct.pack(enc.endian + "H", stored & 0xFFFF) + value


def pad(value: bytes, vr: str) -> bytes:
    """Even length, as the standard wants: UIDs and binary values with NUL, text with a space."""
    if len(value) % 2 == 0:
        return value
    return value + (b"\0" if vr in ("UI", "OB", "UN") else b" ")


def encode_numbers(values: list[int], vr: str, enc: Encoding) -> bytes:
    fmt = {"US": "H", "SS": "h", "UL": "I", "SL": "i"}[vr]
    masked = [v & 0xFFFF if fmt in "Hh" else v & UNDEFINED for v in values]
    signed = [(v - (1 << 16) if v >= 1 << 15 else v) if fmt == "h" else v for v in masked]
    signed = [(v - (1 << 32) if v >= 1 << 31 else v) if fmt == "i" else v for v in signed]
    return struct.pack(enc.endian + fmt * len(values), *signed)


def splice(data: bytes, layout: Layout, tag: int, new: bytes | None) -> bytes:
    """Replace the element ``tag`` with ``new`` bytes (None removes it), or insert ``new``
    where the tag order puts it. Meta edits fix the meta group length."""
    elements = layout.meta if tag >> 16 == 2 else layout.data
    current = next((e for e in elements if e.tag == tag), None)
    if current is not None:
        out = data[: current.start] + (new or b"") + data[current.end :]
    elif new is None:
        return data
    else:
        after = next((e for e in elements if e.tag > tag), None)
        where = after.start if after is not None else (elements[-1].end if elements else len(data))
        out = data[:where] + new + data[where:]
    return fix_meta_group_length(out) if tag >> 16 == 2 else out


def fix_meta_group_length(data: bytes) -> bytes:
    """Rewrite (0002,0000) to the meta group's real length (the parse depends on it)."""
    if data[PREAMBLE : PREAMBLE + 4] != b"\x02\x00\x00\x00":
        return data
    pos, end = PREAMBLE + 12, PREAMBLE + 12
    while end + 8 <= len(data) and struct.unpack_from("<H", data, end)[0] == 2:
        try:
            end = read_element(data, end, META).end
        except (struct.error, UnicodeDecodeError):
            break
    return data[: pos - 4] + struct.pack("<I", end - pos) + data[pos:]
