"""Deflate streams that inflate to gigabytes of zeros, built in milliseconds.

After a full flush a deflate compressor forgets its history, so the bytes it emits for
the next 16 MiB of zeros are the same every time: repeating them k times gives a valid
stream for k x 16 MiB without compressing k x 16 MiB.
"""

from __future__ import annotations

import functools
import struct
import zlib

UNIT = 16 << 20


@functools.lru_cache(maxsize=None)
def _unit() -> tuple[bytes, bytes]:
    """(the repeated block for UNIT zeros, the same compressor's stream for the rest)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    c.compress(b"")
    c.flush(zlib.Z_FULL_FLUSH)
    first = c.compress(b"\0" * UNIT) + c.flush(zlib.Z_FULL_FLUSH)
    second = c.compress(b"\0" * UNIT) + c.flush(zlib.Z_FULL_FLUSH)
    assert first == second, "a full flush should make the blocks repeat"
    return first, c.flush()


def raw_stream(prefix: bytes, zeros: int) -> bytes:
    """Raw deflate (no zlib header) inflating to ``prefix`` then ``zeros`` zero bytes."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    unit, _ = _unit()
    rest = zlib.compressobj(9, zlib.DEFLATED, -15)
    tail = rest.compress(b"\0" * (zeros % UNIT)) + rest.flush()
    return head + unit * (zeros // UNIT) + tail


def zlib_zeros(zeros: int) -> bytes:
    """A zlib stream (PNG IDAT) of ``zeros`` zero bytes, with its Adler-32."""
    adler = (zeros % 65521) << 16 | 1  # for zeros: A stays 1, B adds 1 per byte
    return b"\x78\x01" + raw_stream(b"", zeros) + struct.pack(">I", adler)
