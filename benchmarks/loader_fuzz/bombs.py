"""Size bombs (headers that announce huge images) and deflate bombs (small files that
inflate to gigabytes): a decoder that believes them runs out of memory or time."""

from __future__ import annotations

import random
import struct

from . import png_chunks
from .codestreams import JPEG_SOF, j2k_segments, j2k_start, jpeg_segments
from .deflate import raw_stream, zlib_zeros
from .dicom_bytes import DEFLATED, META, TS_TAG, encode_element, encode_numbers, pad, parse_layout, splice
from .encapsulated import join
from .png_chunks import Chunk
from .seeds import Seed

_ROWS, _COLS, _FRAMES, _BITS, _SAMPLES = 0x00280010, 0x00280011, 0x00280008, 0x00280100, 0x00280002
# (rows, columns, frames, bits allocated, samples): each just inside or outside a limit
_DICOM_BOMBS = ((16384, 16384, 1, 16, 1), (16385, 16, 1, 16, 1), (65535, 65535, 1, 16, 1),
                (16384, 16384, 1, 32, 1), (16384, 16384, 1, 64, 1), (16384, 10922, 1, 8, 3),
                (96, 80, 2147483647, 16, 1), (2140, 1760, 400, 16, 1), (96, 80, 100000, 16, 1),
                (8192, 8192, 4, 16, 1), (16384, 16384, 1, 1, 1))
_PNG_BOMBS = ((60000, 60000, 8, 0), (16385, 1, 8, 0), (16384, 16384, 8, 0), (16384, 16384, 16, 6),
              (1, 0x7FFFFFFF, 8, 0), (0xFFFFFFFF, 0xFFFFFFFF, 1, 0))
# (width, height, bit depth, colour type) for IDAT that really inflates to the whole image
_PNG_FULL = ((16384, 16384, 8, 0), (16384, 10000, 8, 6), (16000, 11000, 8, 2), (12000, 12000, 16, 0))
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def dicom_size_bomb(rng: random.Random, seed: Seed) -> bytes:
    """Rows/Columns/frames/bits/samples at and past the limits; for compressed data, half the
    time the codestream header announces the same size, so the decoder believes it too."""
    rows, cols, frames, bits, samples = rng.choice(_DICOM_BOMBS)
    enc, data = seed.layout.encoding, seed.data
    edits = [(_ROWS, "US", encode_numbers([rows], "US", enc)), (_COLS, "US", encode_numbers([cols], "US", enc)),
             (_BITS, "US", encode_numbers([bits], "US", enc)), (_SAMPLES, "US", encode_numbers([samples], "US", enc))]
    if frames > 1:
        edits.append((_FRAMES, "IS", pad(str(frames).encode(), "IS")))
    if seed.encapsulated is not None and rng.random() < 0.5:
        data = _codestream_says(seed, rows, cols)
    for tag, vr, value in edits:  # offsets move with each edit: parse again
        data = splice(data, parse_layout(data), tag, encode_element(tag, vr, value, enc))
    return data


def _codestream_says(seed: Seed, rows: int, cols: int) -> bytes:
    enc = seed.encapsulated
    frag = bytearray(enc.fragments[0])
    rows, cols = min(rows, 0xFFFF), min(cols, 0xFFFF)
    if frag.startswith(b"\xff\xd8"):
        for segment in jpeg_segments(bytes(frag)):
            if segment.marker in JPEG_SOF:
                struct.pack_into(">HH", frag, segment.start + 5, rows, cols)
    elif (start := j2k_start(bytes(frag))) >= 0:
        siz = next((s for s in j2k_segments(bytes(frag), start) if s.marker == 0x51), None)
        if siz is not None:
            struct.pack_into(">II", frag, siz.start + 6, cols, rows)
    return join(enc, [enc.items[0], bytes(frag), *enc.fragments[1:]])


def deflate_bomb(rng: random.Random, seed: Seed) -> bytes:
    """The data set deflated (Deflated Explicit VR Little Endian), its pixel data padded with
    hundreds of MiB to GiB of zeros that compress to a file of about a megabyte."""
    zeros = rng.choice((64 << 20, 512 << 20, 2 << 30))
    meta_end = seed.layout.meta[-1].end
    pixel = seed.layout.find(0x7FE00010)
    head = seed.data[meta_end : pixel.start] + encode_element(0x7FE00010, "OW", b"", META, length=zeros)
    deflated = encode_element(TS_TAG, "UI", pad(DEFLATED.encode(), "UI"), META)
    meta = splice(seed.data[:meta_end], seed.layout, TS_TAG, deflated)
    body = raw_stream(head, zeros)
    if rng.random() < 0.2:
        body = body[: rng.randrange(len(body))]  # a bomb that is also cut short
    return meta + body


def png_size_bomb(rng: random.Random, seed: Seed) -> bytes:
    """An IHDR announcing a huge (or zero) image over the seed's own small IDAT."""
    width, height, depth, color = rng.choice(_PNG_BOMBS)
    chunks = png_chunks.parse(seed.data)
    chunks[0] = png_chunks.ihdr(width, height, depth, color)
    return png_chunks.build(chunks)


def png_deflate_bomb(rng: random.Random, seed: Seed) -> bytes:
    """Compressed chunks that inflate to far more than their size: a whole huge image in
    IDAT, or a text / ICC profile chunk of a GiB of zeros."""
    chunks = png_chunks.parse(seed.data)
    if rng.random() < 0.5:
        width, height, depth, color = rng.choice(_PNG_FULL)
        row = (width * _PNG_CHANNELS[color] * depth + 7) // 8
        idat = Chunk(b"IDAT", zlib_zeros(height * (row + 1)))
        ihdr = png_chunks.ihdr(width, height, depth, color)
        return png_chunks.build([ihdr, idat, Chunk(b"IEND", b"")])
    kind = rng.choice((b"zTXt", b"iCCP", b"iTXt"))
    stream = zlib_zeros(1 << 30)
    body = {b"zTXt": b"Comment\0\0", b"iCCP": b"icc\0\0", b"iTXt": b"Comment\0\1\0\0\0"}[kind] + stream
    chunks.insert(1, Chunk(kind, body))
    return png_chunks.build(chunks)


def jpeg_size_bomb(rng: random.Random, seed: Seed) -> bytes:
    """A frame header announcing a huge image over the seed's small scan."""
    height, width = rng.choice(((65535, 65535), (16384, 16384), (16385, 8), (0, 64), (64, 0), (16384, 10000)))
    data = bytearray(seed.data)
    for segment in jpeg_segments(seed.data):
        if segment.marker in JPEG_SOF:
            struct.pack_into(">HH", data, segment.start + 5, height, width)
    return bytes(data)
