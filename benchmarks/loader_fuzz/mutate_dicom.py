"""DICOM header mutators: field edits, element lengths, VRs, transfer syntax swaps, identifiers.

Each works on a seed with a layout (a file with preamble) and returns the mutant's bytes.
"""

from __future__ import annotations

import random

from . import canaries
from .dicom_bytes import (
    DEFLATED,
    LONG_VRS,
    META,
    TS_TAG,
    UNDEFINED,
    Element,
    encode_element,
    pad,
    splice,
)
from .dicom_fields import FIELDS
from .seeds import Seed
from .values import interesting_int, read_uint, write_uint

TRANSFER_SYNTAXES = (
    "1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2", DEFLATED,
    "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57",
    "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.90",
    "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203",
    "1.2.840.10008.1.2.4.100", "1.2.840.10008.1.2.4.110", "1.2.840.10008.1.2.1.98", "1.2.3.4.5",
    "1.2.840.10008.5.1.4.1.1.1", "", "1.2.840.10008.1.2.4.90 ", "x" * 80,
)
_VRS = ("AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT", "OB", "OD", "OF", "OL", "OV",
        "OW", "PN", "SH", "SL", "SQ", "SS", "ST", "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV",
        "  ", "\0\0", "ZZ", "us")


def dicom_field(rng: random.Random, seed: Seed) -> bytes:
    """Set, change or remove one image header field (Rows, BitsStored, a LUT, ...)."""
    tag, generate = FIELDS[rng.choice(sorted(FIELDS))]
    enc = seed.layout.encoding
    if rng.random() < 0.1:
        return splice(seed.data, seed.layout, tag, None)
    vr, value = generate(rng, _current_uint(seed, tag), enc)
    if vr == "SQ!":
        new = encode_element(tag, "SQ", value, enc, length=UNDEFINED)
    else:
        new = encode_element(tag, vr, value, enc)
    return splice(seed.data, seed.layout, tag, new)


def _current_uint(seed: Seed, tag: int) -> int:
    elem = seed.layout.find(tag)
    if elem is None or elem.length != 2:
        return 0
    return read_uint(seed.data, elem.value_start, 2, seed.layout.encoding.little)


def _pick_element(rng: random.Random, seed: Seed) -> tuple[Element, bool]:
    """A random element and whether it is in the file meta (always explicit little endian)."""
    if seed.layout.data and rng.random() < 0.85:
        return rng.choice(seed.layout.data), False
    return rng.choice(seed.layout.meta), True


def dicom_length(rng: random.Random, seed: Seed) -> bytes:
    """Lie in one element's length field: zero, odd, past the end, undefined, noise."""
    elem, in_meta = _pick_element(rng, seed)
    enc = META if in_meta else seed.layout.encoding
    header = elem.value_start - elem.start
    offset, size = (elem.start + 6, 2) if header == 8 and not enc.implicit else (elem.value_start - 4, 4)
    extra = (len(seed.data), len(seed.data) - elem.value_start + 1, elem.length + 2, UNDEFINED & ((1 << 8 * size) - 1))
    data = bytearray(seed.data)
    write_uint(data, offset, size, interesting_int(rng, elem.length, size, extra), enc.little)
    return bytes(data)


def dicom_vr(rng: random.Random, seed: Seed) -> bytes:
    """Give one element another VR: the bytes as they are (a short VR read as long or
    the reverse shifts the parse), or the value re-encoded under the new VR."""
    elem, in_meta = _pick_element(rng, seed)
    enc = META if in_meta else seed.layout.encoding
    if enc.implicit:
        return dicom_length(rng, seed)
    vr = rng.choice(_VRS)
    if rng.random() < 0.5 or elem.length == UNDEFINED:
        data = bytearray(seed.data)
        data[elem.start + 4 : elem.start + 6] = vr.encode("latin-1")
        return bytes(data)
    value = seed.data[elem.value_start : elem.value_start + elem.length]
    if vr not in LONG_VRS and len(value) > 0xFFFF:
        value = value[:0xFFFF]
    return splice(seed.data, seed.layout, elem.tag, encode_element(elem.tag, vr, value, enc))


def ts_swap(rng: random.Random, seed: Seed) -> bytes:
    """Declare another transfer syntax (RLE over JPEG data, deflate over plain data, ...)."""
    uid = rng.choice(TRANSFER_SYNTAXES + (canaries.INSTANCE_UID,))
    new = encode_element(TS_TAG, "UI", pad(uid.encode("latin-1"), "UI"), META)
    return splice(seed.data, seed.layout, TS_TAG, new)


def identifier_inject(rng: random.Random, seed: Seed) -> bytes:
    """Put a planted identifier where the loader might quote it in a message."""
    target = rng.randrange(6)
    enc = seed.layout.encoding
    if target == 0:
        text, tag, vr = rng.choice(canaries.ALL), TS_TAG, "UI"
        return splice(seed.data, seed.layout, tag, encode_element(tag, vr, pad(text.encode(), vr), META))
    tag, vr = rng.choice(((0x00080016, "UI"), (0x00280004, "CS"), (0x00080060, "CS"), (0x00280008, "IS"),
                          (0x00280010, "LO"), (0x00080005, "CS"), (0x00091010, "LO")))
    text = rng.choice(canaries.ALL).encode()
    if target == 5:  # a UID whose length runs to the end of the file, swallowing the rest
        elem = seed.layout.find(0x00080016)
        if elem is not None and not enc.implicit:
            return _swallowing_uid(seed, elem)
    return splice(seed.data, seed.layout, tag, encode_element(tag, vr, pad(text, vr), enc))


def _swallowing_uid(seed: Seed, elem: Element) -> bytes:
    """SOP Class UID as UN with a 4-byte length reaching the end of the file: its value
    holds the patient module and the pixel data (as in tests/hostile_corpus.py)."""
    head = encode_element(elem.tag, "UN", b"", seed.layout.encoding, length=len(seed.data) - elem.end)
    return seed.data[: elem.start] + head + seed.data[elem.end :]
