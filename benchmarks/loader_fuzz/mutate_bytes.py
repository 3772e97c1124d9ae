"""Format-blind mutators: bit flips, byte overwrites, truncation, cut and repeated ranges.

Half the edits land in the first 2 KiB (the headers, where a decoder decides what to
allocate and how to parse the rest); the others anywhere.
"""

from __future__ import annotations

import random

from .seeds import Seed

HEADER_BYTES = 2048
_INTERESTING_BYTES = (0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF, 0x20, 0x10, 0x40)


def _position(rng: random.Random, size: int) -> int:
    if rng.random() < 0.5:
        return rng.randrange(min(size, HEADER_BYTES))
    return rng.randrange(size)


def bitflip(rng: random.Random, seed: Seed) -> bytes:
    data = bytearray(seed.data)
    if not data:  # a mutant truncated to nothing, stacked with a bit flip
        return b""
    for _ in range(rng.choice((1, 1, 2, 4, 8, 32))):
        data[_position(rng, len(data))] ^= 1 << rng.randrange(8)
    return bytes(data)


def byteset(rng: random.Random, seed: Seed) -> bytes:
    data = bytearray(seed.data)
    if not data:
        return b""
    for _ in range(rng.choice((1, 2, 4, 16))):
        at = _position(rng, len(data))
        run = rng.choice((1, 1, 2, 4))
        value = rng.choice(_INTERESTING_BYTES) if rng.random() < 0.7 else rng.getrandbits(8)
        data[at : at + run] = bytes([value]) * len(data[at : at + run])
    return bytes(data)


def truncate(rng: random.Random, seed: Seed) -> bytes:
    size = len(seed.data)
    choice = rng.random()
    if choice < 0.4:
        cut = rng.randrange(min(size, HEADER_BYTES))  # inside the header
    elif choice < 0.7:
        cut = size - rng.randint(1, min(size - 1, 64))  # just before the end: the delimiters
    else:
        cut = rng.randrange(size)
    return seed.data[:cut]


def byte_range(rng: random.Random, seed: Seed) -> bytes:
    """Delete, repeat or overwrite with noise a range of bytes (shifts everything after it)."""
    data = seed.data
    start = _position(rng, len(data))
    length = min(rng.choice((1, 2, 4, 8, 64, 512, 4096)), len(data) - start)
    piece = data[start : start + length]
    action = rng.randrange(3)
    if action == 0:
        return data[:start] + data[start + length :]
    if action == 1:
        return data[:start] + piece * rng.choice((2, 3, 16)) + data[start + length :]
    return data[:start] + bytes(rng.getrandbits(8) for _ in range(length)) + data[start + length :]
