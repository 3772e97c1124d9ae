"""Bad input: each case raises its specific ImageLoadError with a message for people."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import cxrviewer.io.loader as loader
from cxrviewer.io import (
    CorruptImageError,
    EmptyFileError,
    ImageLoadError,
    ImageTooLargeError,
    NotAnImageError,
    TruncatedImageError,
    UnreadableFileError,
    load_image,
)


def test_missing_file(tmp_path):
    with pytest.raises(UnreadableFileError, match="nope.dcm: file not found"):
        load_image(tmp_path / "nope.dcm")


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(UnreadableFileError, match="is a folder"):
        load_image(tmp_path)


def test_permission_denied_is_unreadable(tmp_path, monkeypatch):
    path = tmp_path / "locked.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n")

    def refuse(_path, size=0):
        raise PermissionError(13, "Permission denied", str(_path))

    monkeypatch.setattr(loader, "read_head", refuse)
    with pytest.raises(UnreadableFileError, match="locked.png: permission denied"):
        load_image(path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_mode_bits(tmp_path):
    path = tmp_path / "locked.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n")
    path.chmod(0)
    with pytest.raises(UnreadableFileError, match="permission denied"):
        load_image(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.dcm"
    path.touch()
    with pytest.raises(EmptyFileError, match=r"empty.dcm: file is empty \(0 bytes\)"):
        load_image(path)


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.dcm"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(NotAnImageError, match="noise.dcm: not a DICOM, PNG or JPEG image"):
        load_image(path)


def test_text_renamed_png(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("Patient seen on Tuesday, follow-up chest film next week.\n" * 20)
    with pytest.raises(NotAnImageError, match="notes.png: .*looks like a text file"):
        load_image(path)


def test_other_image_format_is_named(tmp_path):
    path = tmp_path / "scan.png"
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(path, format="TIFF")
    with pytest.raises(NotAnImageError, match="looks like a TIFF image"):
        load_image(path)


def _chunk(kind: bytes, body: bytes, crc: int | None = None) -> bytes:
    crc = zlib.crc32(kind + body) if crc is None else crc
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def _png_header(width: int, height: int, ihdr_crc: int | None = None) -> bytes:
    """A PNG announcing a size, with an empty IDAT: the header is all there is."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr, ihdr_crc)
            + _chunk(b"IDAT", zlib.compress(b"")) + _chunk(b"IEND", b""))


def test_png_with_broken_header_checksum_is_corrupt(tmp_path):
    path = tmp_path / "bad.png"
    path.write_bytes(_png_header(8, 8, ihdr_crc=12345))
    with pytest.raises(CorruptImageError, match="bad.png: PNG"):
        load_image(path)


def test_oversize_png_header_refused_before_decoding(tmp_path):
    path = tmp_path / "huge.png"
    path.write_bytes(_png_header(20000, 100))
    with pytest.raises(ImageTooLargeError, match="huge.png: image is 20000 x 100"):
        load_image(path)


def test_png_within_side_limit_but_beyond_pillow_pixel_limit_is_too_large(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header(16000, 16000))
    with pytest.raises(ImageTooLargeError, match="bomb.png: .*too many pixels"):
        load_image(path)


def test_oversize_jpeg_header_refused_before_decoding(tmp_path):
    """A real JPEG whose frame header is patched to claim 20000 x 30000 pixels."""
    path = tmp_path / "huge.jpg"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(path, quality=90)
    data = bytearray(path.read_bytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 30000, 20000)
    path.write_bytes(bytes(data))
    with pytest.raises(ImageTooLargeError, match="huge.jpg: image is 20000 x 30000"):
        load_image(path)


def _all_prefixes_and_flips(data: bytes, cuts: int = 40, flips: int = 40) -> list[bytes]:
    rng = np.random.default_rng(7)
    variants = [data[: int(n)] for n in np.linspace(1, len(data) - 1, cuts)]
    for _ in range(flips):
        damaged = bytearray(data)
        for pos in rng.integers(0, len(data), 8):
            damaged[pos] = int(rng.integers(0, 256))
        variants.append(bytes(damaged))
    return variants


@pytest.mark.parametrize("source", ["dicom", "png", "jpeg"])
def test_damaged_files_raise_only_image_load_errors(tmp_path, make_dicom, source):
    """Cut or corrupt a valid file many ways: load_image may succeed, or raise an
    ImageLoadError, but must never raise anything else."""
    pixels = (np.arange(48 * 40) % 4096).astype(np.uint16).reshape(48, 40)
    if source == "dicom":
        data = make_dicom(pixels, BitsStored=12, HighBit=11, WindowCenter=500, WindowWidth=900).read_bytes()
    else:
        fmt = "PNG" if source == "png" else "JPEG"
        path = tmp_path / f"ok.{source}"
        Image.fromarray((pixels // 16).astype(np.uint8)).save(path, format=fmt)
        data = path.read_bytes()
    target = tmp_path / f"damaged.{source}"
    for variant in _all_prefixes_and_flips(data):
        target.write_bytes(variant)
        try:
            load_image(target)
        except ImageLoadError as exc:
            assert str(exc).startswith("damaged."), str(exc)


@pytest.mark.parametrize("name", ["hip_cr_rle.dcm", "hip_cr_jpeg_lossless.dcm",
                                  "hip_cr_jpegls_lossless.dcm", "chest_cr_mono1_j2k_lossy.dcm"])
@pytest.mark.parametrize("keep", [0.02, 0.5, 0.97])
def test_cut_compressed_real_dicom_is_truncated(dicom_dir, tmp_path, name, keep):
    data = (dicom_dir / name).read_bytes()
    path: Path = tmp_path / f"cut_{name}"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(TruncatedImageError, match=f"cut_{name}: DICOM pixel data is cut short"):
        load_image(path)


def test_named_pipe_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.dcm"
    os.mkfifo(fifo)
    with pytest.raises(UnreadableFileError, match="pipe.dcm: not a regular file"):
        load_image(fifo)
