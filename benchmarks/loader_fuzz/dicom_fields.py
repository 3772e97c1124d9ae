"""The image header fields a DICOM mutant lies about, and the lies to tell.

Each generator returns (VR, value bytes) for one new element, or None to remove it.
"""

from __future__ import annotations

import random
import struct

from . import canaries
from .dicom_bytes import Encoding, encode_element, encode_numbers, pad
from .values import interesting_int

_US_EXTRA = (3, 4, 7, 8, 9, 12, 15, 16, 17, 24, 31, 32, 33, 64, 255, 256, 16384, 16385)
PHOTOMETRICS = ("MONOCHROME1", "MONOCHROME2", "RGB", "YBR_FULL", "YBR_FULL_422", "YBR_RCT", "YBR_ICT",
                "YBR_PARTIAL_420", "PALETTE COLOR", "HSV", "ARGB", "CMYK", "", "MONOCHROME2\\RGB",
                "monochrome2", "MONOCHROME3", canaries.PATIENT_NAME)
_INTEGER_STRINGS = ("0", "1", "2", "3", "-1", "100000", "2147483647", "2147483648", "-2147483648", "1e9",
                    "abc", "", " 3 ", "99999999999999", "1.5", canaries.PATIENT_ID)
_DECIMAL_STRINGS = ("0", "-0", "1", "-1", "1e308", "-1e308", "1e400", "nan", "inf", "-inf", "1e-320", "",
                    "abc", "1\\2", "3.4e38", "65535", "-32768", "0.0000001", "1,5")
_CHARSETS = ("ISO 2022 IR 87", "ISO_IR 192", "GB18030", "ISO 2022 IR 149\\ISO 2022 IR 87", "\\", "UTF-8",
             "ISO_IR 13", "nonsense", "", "ISO 2022 IR 6\\ISO 2022 IR 100")


def _text(choices: tuple[str, ...], vr: str):
    def make(rng: random.Random, original: int, enc: Encoding):
        return vr, pad(rng.choice(choices).encode("latin-1", "replace"), vr)
    return make


def _us(rng: random.Random, original: int, enc: Encoding):
    roll = rng.random()
    if roll < 0.1:
        return "US", encode_numbers([interesting_int(rng, original, 2, _US_EXTRA) for _ in range(2)], "US", enc)
    if roll < 0.15:
        return "US", bytes(rng.getrandbits(8) for _ in range(rng.choice((1, 3))))  # odd length
    if roll < 0.2:
        return "US", b""
    return "US", encode_numbers([interesting_int(rng, original, 2, _US_EXTRA)], "US", enc)


def _lut_item(rng: random.Random, enc: Encoding) -> bytes:
    """One LUT item: a descriptor (entries, first mapped value, bits) and data of any length."""
    entries = rng.choice((0, 1, 2, 255, 256, 1024, 4096, 65535))
    first = rng.choice((0, 1, 255, 1024, 32768, 65535))
    bits = rng.choice((0, 1, 8, 10, 16, 17, 32))
    count = rng.choice((entries, entries // 2, entries + 1, 0, 3, 70000)) if rng.random() < 0.8 else entries
    body = encode_element(0x00283002, rng.choice(("US", "SS")), encode_numbers([entries, first, bits], "US", enc), enc)
    body += encode_element(0x00283003, "LO", pad(canaries.PATIENT_NAME.encode(), "LO"), enc)
    data = bytes(rng.getrandbits(8) for _ in range(2 * count))
    body += encode_element(0x00283006, rng.choice(("OW", "US")), data, enc)
    return encode_element(0xFFFEE000, "", body, enc)


def _lut_sequence(rng: random.Random, original: int, enc: Encoding):
    items = b"".join(_lut_item(rng, enc) for _ in range(rng.choice((0, 1, 1, 2))))
    if rng.random() < 0.3:  # undefined length, closed by a delimiter (or not)
        tail = encode_element(0xFFFEE0DD, "", b"", enc) if rng.random() < 0.8 else b""
        return "SQ!", items + tail
    return "SQ", items


def _palette_descriptor(rng: random.Random, original: int, enc: Encoding):
    values = [rng.choice((0, 1, 255, 256, 4096, 65535)), rng.choice((0, 255, 65535)), rng.choice((0, 8, 16, 17, 32))]
    return rng.choice(("US", "SS")), encode_numbers(values, "US", enc)


def _palette_data(rng: random.Random, original: int, enc: Encoding):
    return "OW", bytes(rng.getrandbits(8) for _ in range(rng.choice((0, 1, 2, 510, 512, 514, 8192))))


def _offsets(rng: random.Random, original: int, enc: Encoding):
    count = rng.choice((0, 1, 2, 3, 100))
    return "OV", struct.pack(f"<{count}Q", *(rng.choice((0, 8, 1 << 40, rng.getrandbits(64))) for _ in range(count)))


# name -> (tag, value generator)
FIELDS = {
    "Rows": (0x00280010, _us), "Columns": (0x00280011, _us), "BitsAllocated": (0x00280100, _us),
    "BitsStored": (0x00280101, _us), "HighBit": (0x00280102, _us), "SamplesPerPixel": (0x00280002, _us),
    "PixelRepresentation": (0x00280103, _us), "PlanarConfiguration": (0x00280006, _us),
    "PhotometricInterpretation": (0x00280004, _text(PHOTOMETRICS, "CS")),
    "NumberOfFrames": (0x00280008, _text(_INTEGER_STRINGS, "IS")),
    "RescaleSlope": (0x00281053, _text(_DECIMAL_STRINGS, "DS")),
    "RescaleIntercept": (0x00281052, _text(_DECIMAL_STRINGS, "DS")),
    "WindowCenter": (0x00281050, _text(_DECIMAL_STRINGS, "DS")),
    "WindowWidth": (0x00281051, _text(_DECIMAL_STRINGS, "DS")),
    "PixelSpacing": (0x00280030, _text(("0\\0", "-1\\1", "nan\\nan", "1e400\\1", "0.2", "", "a\\b"), "DS")),
    "PresentationLUTShape": (0x20500020, _text(("INVERSE", "IDENTITY", "", "LIN OD", "inverse"), "CS")),
    "SpecificCharacterSet": (0x00080005, _text(_CHARSETS, "CS")),
    "ModalityLUTSequence": (0x00283000, _lut_sequence), "VOILUTSequence": (0x00283010, _lut_sequence),
    "RedPaletteDescriptor": (0x00281101, _palette_descriptor), "RedPaletteData": (0x00281201, _palette_data),
    "BluePaletteDescriptor": (0x00281103, _palette_descriptor), "BluePaletteData": (0x00281203, _palette_data),
    "ExtendedOffsetTable": (0x7FE00001, _offsets), "ExtendedOffsetTableLengths": (0x7FE00002, _offsets),
}
