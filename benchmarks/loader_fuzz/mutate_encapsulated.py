"""Compressed pixel data mutators: the item structure, and the codestream header inside.

Both apply to seeds whose pixel data is encapsulated (RLE, JPEG, JPEG-LS, JPEG 2000).
"""

from __future__ import annotations

import random
import struct

from .codestreams import (
    J2K_FIELDS,
    JPEG_EXTRA,
    j2k_segments,
    j2k_start,
    jpeg_fields,
    jpeg_segments,
    looks_like_rle,
    rle_fields,
)
from .encapsulated import item, join, offset_table
from .seeds import Seed
from .values import edit_field, random_bytes

_ITEM_TAGS = (0xFFFEE00D, 0xFFFEE0DD, 0x7FE00010, 0x00000000, 0xFFFFFFFF, 0xFEFF00E0)


def encapsulation(rng: random.Random, seed: Seed) -> bytes:
    """Damage the offset table, an item length or tag, the delimiter, or the fragment split."""
    enc = seed.encapsulated
    bot, frags = enc.items[0], list(enc.fragments)
    action = rng.randrange(8)
    if action == 0:  # an offset table that points anywhere
        count = rng.choice((1, 2, len(frags), len(frags) + 1, 1000))
        offsets = [rng.choice((0, 1, 8, 0x7FFFFFFF, rng.getrandbits(32))) for _ in range(count)]
        table = struct.pack(f"<{count}I", *offsets)
        return join(enc, [table, *frags])
    if action == 1:  # a right offset table for a wrong number of frames
        return join(enc, [offset_table([len(f) for f in frags] * rng.choice((2, 3))), *frags])
    if action == 2:  # one item claims another length than it has
        index = rng.randrange(len(enc.items))
        items = [item(v) for v in enc.items]
        lengths = (0, 1, len(enc.items[index]) + rng.choice((-9, -1, 1, 2, 100)), 0xFFFFFFFF, 0x7FFFFFFF)
        items[index] = item(enc.items[index], length=rng.choice(lengths) & 0xFFFFFFFF)
        return enc.prefix + b"".join(items) + item(b"", 0xFFFEE0DD, 0) + enc.suffix
    if action == 3:  # an item tag that is not an item
        index = rng.randrange(len(enc.items))
        items = [item(v) for v in enc.items]
        items[index] = item(enc.items[index], tag=rng.choice(_ITEM_TAGS))
        return enc.prefix + b"".join(items) + item(b"", 0xFFFEE0DD, 0) + enc.suffix
    if action == 4:  # no Sequence Delimitation Item
        return join(enc, delimiter=False)
    if action == 5:  # the first frame split over several fragments (legal), or empty fragments added
        first = frags[0]
        cut = rng.randrange(len(first) + 1)
        pieces = [first[:cut], first[cut:]] if rng.random() < 0.7 else [b"", first, b""]
        return join(enc, [bot, *pieces, *frags[1:]])
    if action == 6:  # fragments dropped or repeated
        kept = frags[1:] if len(frags) > 1 and rng.random() < 0.5 else frags * rng.choice((2, 5))
        return join(enc, [bot, *kept])
    return join(enc, [random_bytes(rng, rng.choice((4, 8, 12))), *frags])  # a short, odd offset table


def codestream_header(rng: random.Random, seed: Seed) -> bytes:
    """Change one field of the first fragment's codestream header (JPEG SOF/SOS/DHT,
    JPEG-LS SOF55/LSE, JPEG 2000 SIZ/COD/QCD/SOT, RLE segment table), or a segment's
    length or marker; the item lengths stay right so the decoder sees it."""
    enc = seed.encapsulated
    frags = list(enc.fragments)
    index = 0 if len(frags) == 1 or rng.random() < 0.8 else rng.randrange(len(frags))
    frags[index] = mutate_codestream(rng, frags[index])
    return join(enc, [enc.items[0], *frags])


def mutate_codestream(rng: random.Random, stream: bytes) -> bytes:
    data = bytearray(stream)
    if data.startswith(b"\xff\xd8"):
        edit_segments(rng, data, jpeg_segments(bytes(data)), jpeg_fields, JPEG_EXTRA)
    elif (start := j2k_start(bytes(data))) >= 0:
        edit_segments(rng, data, j2k_segments(bytes(data), start), lambda s: J2K_FIELDS.get(s.marker, {}), {})
    elif looks_like_rle(bytes(data)):
        name, (offset, size) = rng.choice(sorted(rle_fields(bytes(data)).items()))
        edit_field(rng, data, offset, size, little=True, extra=(64, len(data), len(data) + 1, 15, 16))
    else:
        data[rng.randrange(min(len(data), 64))] ^= 1 << rng.randrange(8)
    return bytes(data)


def edit_segments(rng: random.Random, data: bytearray, segments, fields_of, extra: dict) -> None:
    with_fields = [s for s in segments if fields_of(s)]
    roll = rng.random()
    if with_fields and roll < 0.75:
        segment = rng.choice(with_fields)
        name, (offset, size) = rng.choice(sorted(fields_of(segment).items()))
        edit_field(rng, data, segment.start + offset, size, little=False, extra=extra.get(name, ()))
        return
    segment = rng.choice([s for s in segments if s.length] or segments)
    if roll < 0.88 and segment.length:  # the segment's own length
        edit_field(rng, data, segment.start + 2, 2, little=False)
    else:  # another marker code
        data[segment.start + 1] = rng.choice((0xC0, 0xC1, 0xC2, 0xC3, 0xF7, 0xDA, 0xD9, 0x51, 0x90, 0x93, 0x00,
                                              rng.getrandbits(8)))
