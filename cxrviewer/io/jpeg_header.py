"""The header of a JPEG or JPEG-LS codestream (everything before the entropy-coded data), checked.

GDCM decodes lossless JPEG and JPEG-LS and aborts or crashes the process on some
malformed headers (a restart marker where a table belongs, a frame header whose
length disagrees with its component count). This walks the markers up to the first
scan and returns what the frame and scan headers say, or raises ``HeaderProblem``
naming the first thing that is wrong, so such a file is refused with a message.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

SOF_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xF7})
SOF55 = 0xF7  # JPEG-LS
_SOS, _DHT, _DQT, _DRI, _LSE = 0xDA, 0xC4, 0xDB, 0xDD, 0xF8
# Segments that may come before the first scan besides the frame header and tables.
_OTHER_SEGMENTS = frozenset({0xCC, 0xDC, 0xDE, 0xDF, 0xFE, *range(0xE0, 0xF0)})


class HeaderProblem(ValueError):
    """The codestream header is malformed; ``str()`` says how (numbers and marker names only)."""


@dataclass(frozen=True)
class Component:
    ident: int
    h: int
    v: int
    table: int


@dataclass(frozen=True)
class JpegHeader:
    frame_marker: int  # 0xC0..0xCF or 0xF7
    precision: int
    height: int
    width: int
    components: tuple[Component, ...]
    scan_components: tuple[tuple[int, int, int], ...]  # (selector, DC/mapping table, AC table)
    ss: int  # spectral start; the predictor in lossless JPEG, NEAR in JPEG-LS
    se: int  # spectral end; the interleave mode in JPEG-LS
    ah: int
    al: int  # point transform
    dc_tables: frozenset[int]


def read_jpeg_header(data: bytes) -> JpegHeader:
    if data[:2] != b"\xff\xd8":
        raise HeaderProblem("no JPEG start-of-image marker")
    pos, frame, dc_tables = 2, None, set()
    while True:
        marker, pos = _next_marker(data, pos)
        if marker in (0xD8, 0xD9, 0x01) or 0xD0 <= marker <= 0xD7:
            raise HeaderProblem(f"marker FF{marker:02X} before the first scan")
        length = _segment_length(data, pos)
        body = data[pos + 4 : pos + 2 + length]
        if marker in SOF_MARKERS:
            if frame is not None:
                raise HeaderProblem("two frame headers")
            frame = _frame(marker, body)
        elif marker == _DHT:
            dc_tables |= _huffman_tables(body)
        elif marker == _DQT:
            _check_quantisation(body)
        elif marker == _DRI and length != 4:
            raise HeaderProblem("restart interval segment of the wrong length")
        elif marker == _SOS:
            if frame is None:
                raise HeaderProblem("scan before the frame header")
            return _with_scan(frame, body, frozenset(dc_tables))
        elif marker != _LSE and marker not in _OTHER_SEGMENTS:
            raise HeaderProblem(f"unexpected marker FF{marker:02X} before the first scan")
        pos += 2 + length


def _next_marker(data: bytes, pos: int) -> tuple[int, int]:
    if pos + 2 > len(data) or data[pos] != 0xFF:
        raise HeaderProblem("the header ends, or has bytes that are not a marker, before the first scan")
    while pos + 1 < len(data) and data[pos + 1] == 0xFF:  # fill bytes
        pos += 1
    if pos + 2 > len(data):
        raise HeaderProblem("the header ends before the first scan")
    return data[pos + 1], pos


def _segment_length(data: bytes, pos: int) -> int:
    if pos + 4 > len(data):
        raise HeaderProblem("a segment is cut short")
    (length,) = struct.unpack_from(">H", data, pos + 2)
    if length < 2 or pos + 2 + length > len(data):
        raise HeaderProblem("a segment length runs past the data")
    return length


def _frame(marker: int, body: bytes) -> JpegHeader:
    if len(body) < 6:
        raise HeaderProblem("frame header too short")
    precision, height, width, count = struct.unpack_from(">BHHB", body)
    if count == 0 or len(body) != 6 + 3 * count:
        raise HeaderProblem(f"frame header length does not fit its {count} component(s)")
    components = []
    for i in range(count):
        ident, sampling, table = body[6 + 3 * i : 9 + 3 * i]
        h, v = sampling >> 4, sampling & 0x0F
        if not (1 <= h <= 4 and 1 <= v <= 4) or table > 3:
            raise HeaderProblem("a frame component has an invalid sampling factor or table")
        components.append(Component(ident, h, v, table))
    return JpegHeader(marker, precision, height, width, tuple(components), (), 0, 0, 0, 0, frozenset())


def _huffman_tables(body: bytes) -> set[int]:
    """DC table numbers a DHT segment defines (each table: class/number, 16 counts, values)."""
    dc, pos = set(), 0
    while pos < len(body):
        if pos + 17 > len(body):
            raise HeaderProblem("Huffman table segment cut short")
        kind, number = body[pos] >> 4, body[pos] & 0x0F
        values = sum(body[pos + 1 : pos + 17])
        if kind > 1 or number > 3 or values > 256 or pos + 17 + values > len(body):
            raise HeaderProblem("invalid Huffman table")
        if kind == 0:
            dc.add(number)
        pos += 17 + values
    return dc


def _check_quantisation(body: bytes) -> None:
    pos = 0
    while pos < len(body):
        precision, number = body[pos] >> 4, body[pos] & 0x0F
        size = 1 + 64 * (2 if precision else 1)
        if precision > 1 or number > 3 or pos + size > len(body):
            raise HeaderProblem("invalid quantisation table")
        pos += size


def _with_scan(frame: JpegHeader, body: bytes, dc_tables: frozenset[int]) -> JpegHeader:
    count = body[0] if body else 0
    if not 1 <= count <= 4 or len(body) != 4 + 2 * count:
        raise HeaderProblem("scan header length does not fit its component count")
    selectors = tuple((body[1 + 2 * i], body[2 + 2 * i] >> 4, body[2 + 2 * i] & 0x0F) for i in range(count))
    known = {c.ident for c in frame.components}
    if any(sel not in known for sel, _, _ in selectors) or len({s for s, _, _ in selectors}) != count:
        raise HeaderProblem("the scan names components the frame does not have")
    ss, se, approx = body[1 + 2 * count], body[2 + 2 * count], body[3 + 2 * count]
    return JpegHeader(frame.frame_marker, frame.precision, frame.height, frame.width, frame.components,
                      selectors, ss, se, approx >> 4, approx & 0x0F, dc_tables)
