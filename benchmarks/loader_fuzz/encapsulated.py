"""Compressed (encapsulated) Pixel Data: the Basic Offset Table and the fragments.

    (7FE0,0010) OB, undefined length
      (FFFE,E000) Basic Offset Table item (often empty)
      (FFFE,E000) fragment ...                 one or more per frame
      (FFFE,E0DD) Sequence Delimitation Item
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .dicom_bytes import ITEM, SEQ_END, UNDEFINED, Layout

PIXEL_DATA = 0x7FE00010


@dataclass(frozen=True)
class Encapsulated:
    prefix: bytes  # the file up to the first item (the pixel data element header included)
    items: tuple[bytes, ...]  # values: [0] is the offset table, then the fragments
    suffix: bytes  # after the delimiter (usually nothing)

    @property
    def fragments(self) -> tuple[bytes, ...]:
        return self.items[1:]


def split(data: bytes, layout: Layout) -> Encapsulated | None:
    """The encapsulated pixel data of a well-formed seed, or None (native pixel data)."""
    elem = layout.find(PIXEL_DATA)
    if elem is None or elem.length != UNDEFINED:
        return None
    pos, items = elem.value_start, []
    while pos + 8 <= elem.end:
        group, number, length = struct.unpack_from("<HHI", data, pos)
        if (group << 16 | number) == SEQ_END:
            return Encapsulated(data[: elem.value_start], tuple(items), data[pos + 8 :])
        if (group << 16 | number) != ITEM:
            return None
        items.append(data[pos + 8 : pos + 8 + length])
        pos += 8 + length
    return None


def item(value: bytes, tag: int = ITEM, length: int | None = None) -> bytes:
    stored = len(value) if length is None else length
    return struct.pack("<HHI", tag >> 16, tag & 0xFFFF, stored & UNDEFINED) + value


def join(enc: Encapsulated, items: list[bytes] | None = None, delimiter: bool = True) -> bytes:
    """The file again, with other item values (each an item of its own length)."""
    body = b"".join(item(value) for value in (enc.items if items is None else items))
    return enc.prefix + body + (item(b"", SEQ_END, 0) if delimiter else b"") + enc.suffix


def offset_table(fragment_lengths: list[int]) -> bytes:
    """A correct Basic Offset Table for one fragment per frame."""
    offsets, at = [], 0
    for length in fragment_lengths:
        offsets.append(at)
        at += 8 + length
    return struct.pack(f"<{len(offsets)}I", *offsets)
