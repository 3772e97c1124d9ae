"""Interesting values for a mutated field: edges, off-by-ones and plain noise."""

from __future__ import annotations

import random
import struct

_FMT = {1: "B", 2: "H", 4: "I"}


def interesting_int(rng: random.Random, original: int, size: int, extra: tuple[int, ...] = ()) -> int:
    """A replacement for an unsigned ``size``-byte field that held ``original``."""
    top = (1 << (8 * size)) - 1
    choices = [0, 1, 2, top, top - 1, top >> 1, (top >> 1) + 1, original + 1, original - 1,
               original * 2, original // 2, original * 16, rng.randint(0, top), *extra]
    return rng.choice(choices) & top


def write_uint(data: bytearray, offset: int, size: int, value: int, little: bool) -> None:
    if offset + size <= len(data):
        struct.pack_into(("<" if little else ">") + _FMT[size], data, offset, value & ((1 << (8 * size)) - 1))


def read_uint(data: bytes, offset: int, size: int, little: bool) -> int:
    if offset + size > len(data):
        return 0
    return struct.unpack_from(("<" if little else ">") + _FMT[size], data, offset)[0]


def edit_field(rng: random.Random, data: bytearray, offset: int, size: int, little: bool,
               extra: tuple[int, ...] = ()) -> None:
    """Overwrite the field at ``offset`` with an interesting value."""
    original = read_uint(data, offset, size, little)
    write_uint(data, offset, size, interesting_int(rng, original, size, extra), little)


def random_bytes(rng: random.Random, n: int) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(n))
