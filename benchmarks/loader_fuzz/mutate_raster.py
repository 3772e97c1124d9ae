"""PNG chunk and JPEG segment mutators (CRCs fixed), and planted identifiers in both."""

from __future__ import annotations

import random
import zlib

from . import canaries, png_chunks
from .codestreams import JPEG_EXTRA, jpeg_fields, jpeg_segments
from .mutate_encapsulated import edit_segments
from .png_chunks import Chunk
from .seeds import Seed
from .values import edit_field, random_bytes

# IHDR fields: (offset in the chunk data, size)
_IHDR = {"width": (0, 4), "height": (4, 4), "depth": (8, 1), "color": (9, 1), "compression": (10, 1),
         "filter": (11, 1), "interlace": (12, 1)}
_IHDR_EXTRA = {"depth": (1, 2, 4, 8, 16, 3, 32), "color": (0, 2, 3, 4, 6, 1, 5, 7), "interlace": (0, 1, 2)}
_EXTRA_CHUNKS = (b"PLTE", b"tRNS", b"sBIT", b"gAMA", b"cHRM", b"iCCP", b"pHYs", b"eXIf", b"zTXt", b"iTXt",
                 b"acTL", b"fcTL", b"fdAT", b"IDAT", b"IEND", b"IHDR", b"sRGB", b"bKGD")


def png_chunk(rng: random.Random, seed: Seed) -> bytes:
    """Edit an IHDR field, damage a chunk's data, or add, drop, repeat or reorder chunks."""
    chunks = png_chunks.parse(seed.data)
    action = rng.randrange(6)
    if action <= 1:
        data = bytearray(chunks[0].data)
        name, (offset, size) = rng.choice(sorted(_IHDR.items()))
        edit_field(rng, data, offset, size, little=False, extra=_IHDR_EXTRA.get(name, ()))
        chunks[0] = Chunk(b"IHDR", bytes(data))
    elif action == 2:
        index = rng.randrange(len(chunks))
        data = bytearray(chunks[index].data)
        for _ in range(rng.choice((1, 2, 8))):
            if data:
                data[rng.randrange(len(data))] = rng.getrandbits(8)
        chunks[index] = Chunk(chunks[index].kind, bytes(data))
    elif action == 3:
        chunks.insert(rng.randrange(1, len(chunks)), _odd_chunk(rng))
    elif action == 4:
        index = rng.randrange(len(chunks))
        chunks[index : index + 1] = [] if rng.random() < 0.5 else [chunks[index]] * 2
    else:
        return _lying_length(rng, chunks)
    return png_chunks.build(chunks)


def _odd_chunk(rng: random.Random) -> Chunk:
    kind = rng.choice(_EXTRA_CHUNKS)
    if kind in (b"zTXt", b"iCCP"):
        body = b"k\0\0" + zlib.compress(random_bytes(rng, 64) * rng.choice((1, 100)))
    else:
        body = random_bytes(rng, rng.choice((0, 1, 3, 4, 13, 256, 768)))
    return Chunk(kind, body)


def _lying_length(rng: random.Random, chunks: list[Chunk]) -> bytes:
    index = rng.randrange(len(chunks))
    parts = [png_chunks.encode(c) for c in chunks]
    lie = rng.choice((0, 1, len(chunks[index].data) + 1, 0x7FFFFFFF, 0xFFFFFFFF, rng.getrandbits(32)))
    parts[index] = png_chunks.encode(chunks[index], length=lie)
    return png_chunks.SIGNATURE + b"".join(parts)


def jpeg_segment(rng: random.Random, seed: Seed) -> bytes:
    """Change a SOF/SOS/DHT/DQT/DRI field, a segment length or a marker code."""
    data = bytearray(seed.data)
    edit_segments(rng, data, jpeg_segments(seed.data), jpeg_fields, JPEG_EXTRA)
    return bytes(data)


def raster_identifier_inject(rng: random.Random, seed: Seed) -> bytes:
    """A planted identifier as a PNG text keyword or chunk, or a JPEG comment or APP segment."""
    text = rng.choice(canaries.ALL).encode()
    if seed.kind == "png":
        chunks = png_chunks.parse(seed.data)
        chunk = rng.choice((Chunk(b"tEXt", text + b"\0" + text), Chunk(b"iTXt", text + b"\0\0\0\0\0" + text),
                            Chunk(b"tEXt", text), Chunk(b"zTXt", text + b"\0\1" + text), Chunk(b"eXIf", text)))
        chunks.insert(1 if rng.random() < 0.5 else len(chunks) - 1, chunk)
        return png_chunks.build(chunks)
    marker = rng.choice((0xFE, 0xE1, 0xE2, 0xED, 0xEE))
    body = (b"Exif\0\0" if marker == 0xE1 and rng.random() < 0.5 else b"") + text
    segment = bytes([0xFF, marker]) + (len(body) + 2).to_bytes(2, "big") + body
    return seed.data[:2] + segment + seed.data[2:]
