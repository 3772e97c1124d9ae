"""PNG chunks: length, type, data, CRC. A mutant's chunks get a correct CRC so the
damage reaches the decoder instead of stopping at Pillow's checksum test."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Chunk:
    kind: bytes
    data: bytes


def parse(png: bytes) -> list[Chunk]:
    chunks, pos = [], len(SIGNATURE)
    while pos + 12 <= len(png):
        (length,) = struct.unpack_from(">I", png, pos)
        kind = png[pos + 4 : pos + 8]
        chunks.append(Chunk(kind, png[pos + 8 : pos + 8 + length]))
        pos += 12 + length
        if kind == b"IEND":
            break
    return chunks


def encode(chunk: Chunk, length: int | None = None, crc: bool = True) -> bytes:
    stored = len(chunk.data) if length is None else length
    checksum = zlib.crc32(chunk.kind + chunk.data) if crc else 0
    return struct.pack(">I", stored & 0xFFFFFFFF) + chunk.kind + chunk.data + struct.pack(">I", checksum)


def build(chunks: list[Chunk]) -> bytes:
    return SIGNATURE + b"".join(encode(c) for c in chunks)


def ihdr(width: int, height: int, depth: int = 8, color: int = 0, interlace: int = 0) -> Chunk:
    return Chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, interlace))
