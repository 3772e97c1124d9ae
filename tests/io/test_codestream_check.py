"""Hazards benchmarks/fuzz_loader.py found, each now one clear error with no decoder process lost.

Every case is a small edit of a shared file that once aborted or crashed GDCM (a
decoder respawn per file) or quoted a value from the header in its message.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pydicom
import pytest
from pydicom.encaps import encapsulate
from pydicom.uid import JPEGBaseline8Bit

from cxrviewer.io import CorruptImageError, NoPixelDataError, UnsupportedCodecError
from cxrviewer.io.sandbox import DecoderPool

GOOD = "chest_dx_mono2_uncompressed.dcm"


@pytest.fixture(scope="module")
def pool():
    decoders = DecoderPool(processes=1, timeout_s=60)
    yield decoders
    decoders.close()


def _refused(pool: DecoderPool, dicom_dir: Path, path: Path, error: type, words: str) -> str:
    """Load ``path``: ``error`` matching ``words``, and the same decoder process before and after."""
    pool.load(dicom_dir / GOOD)
    before = pool.pids()
    with pytest.raises(error, match=words) as caught:
        pool.load(path)
    assert pool.pids() == before, "a decoder process died on this file"
    message = str(caught.value)
    assert message.startswith(path.name) and len(message) <= 300
    return message


def _edited(dicom_dir: Path, tmp_path: Path, name: str, **attrs) -> Path:
    ds = pydicom.dcmread(dicom_dir / name)
    for keyword, value in attrs.items():
        setattr(ds, keyword, value)
    path = tmp_path / f"edited_{name}"
    ds.save_as(path)
    return path


def _first_fragment_edited(dicom_dir: Path, tmp_path: Path, name: str, edit) -> Path:
    """The file with ``edit(bytearray)`` applied to its first fragment, in place."""
    data = bytearray((dicom_dir / name).read_bytes())
    pixel = data.index(b"\xe0\x7f\x10\x00OB\x00\x00\xff\xff\xff\xff")  # (7FE0,0010), undefined length
    bot_length = struct.unpack_from("<I", data, pixel + 16)[0]
    first = pixel + 12 + 8 + bot_length + 8  # past the element header, the offset table and an item tag
    fragment = data[first:]
    edit(fragment)
    data[first:] = fragment
    path = tmp_path / f"fragment_{name}"
    path.write_bytes(bytes(data))
    return path


def test_jpeg_ls_rows_and_columns_the_codestream_contradicts(pool, dicom_dir, tmp_path):
    """Rows/Columns 8192 over a 1760 x 2140 JPEG-LS frame: GDCM aborted (SIGABRT)."""
    path = _edited(dicom_dir, tmp_path, "hip_cr_jpegls_lossless.dcm", Rows=8192, Columns=8192)
    _refused(pool, dicom_dir, path, CorruptImageError, r"JPEG-LS .* does not match .* 1760 x 2140 pixels")


def test_lossless_jpeg_in_32_bit_pixels(pool, dicom_dir, tmp_path):
    """BitsAllocated 32 over 10-bit lossless JPEG (tests/hostile_corpus.py gdcm_abort.dcm): SIGABRT."""
    path = _edited(dicom_dir, tmp_path, "hip_cr_jpeg_lossless.dcm", BitsAllocated=32)
    _refused(pool, dicom_dir, path, CorruptImageError, r"10-bit samples in 32-bit pixels")


def test_lossless_jpeg_with_a_restart_marker_where_its_huffman_table_belongs(pool, dicom_dir, tmp_path):
    """A damaged marker before the first scan: GDCM aborted (SIGABRT)."""
    def restart_for_table(fragment: bytearray) -> None:
        at = fragment.index(b"\xff\xc4")
        fragment[at + 1] = 0xD2

    path = _first_fragment_edited(dicom_dir, tmp_path, "dental_cr_mono1_jpeg_lossless_modality_lut.dcm",
                                  restart_for_table)
    _refused(pool, dicom_dir, path, CorruptImageError, r"lossless JPEG pixel data is damaged \(marker FFD2")


def test_baseline_jpeg_pillow_refuses_never_reaches_gdcm(pool, dicom_dir, samples_dir, tmp_path):
    """A 254-bit baseline frame: Pillow refused it, then GDCM, tried next, crashed (SIGSEGV)."""
    jpeg = bytearray((samples_dir / "normal_kermany_IM-0195-0001.jpg").read_bytes())
    sof = jpeg.index(b"\xff\xc0")
    jpeg[sof + 4] = 254  # sample precision
    ds = pydicom.dcmread(dicom_dir / GOOD)
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = 224, 224, 3, "YBR_FULL_422"
    ds.PlanarConfiguration = 0
    ds.PixelData = encapsulate([bytes(jpeg)])
    ds["PixelData"].VR = "OB"
    path = tmp_path / "baseline_254_bit.dcm"
    ds.save_as(path)
    _refused(pool, dicom_dir, path, CorruptImageError, r"254-bit samples")


def test_jpeg_2000_size_segment_larger_than_the_header(pool, dicom_dir, tmp_path):
    """SIZ claiming 60000 x 60000 over Rows/Columns 2140 x 1760: OpenJPEG allocated what SIZ says
    (without a memory limit the process was killed for running out of memory)."""
    def huge_size(fragment: bytearray) -> None:
        siz = fragment.index(b"\xff\x4f\xff\x51")
        struct.pack_into(">II", fragment, siz + 8, 60000, 60000)  # Xsiz, Ysiz

    path = _first_fragment_edited(dicom_dir, tmp_path, "hip_cr_j2k_lossless.dcm", huge_size)
    _refused(pool, dicom_dir, path, CorruptImageError, r"JPEG 2000 .* 60000 x 60000 pixels")


def test_rle_segment_count_the_header_contradicts(pool, dicom_dir, tmp_path):
    """One byte plane announced for 16-bit pixels (two are needed)."""
    def one_segment(fragment: bytearray) -> None:
        struct.pack_into("<I", fragment, 0, 1)

    path = _first_fragment_edited(dicom_dir, tmp_path, "hip_cr_rle.dcm", one_segment)
    _refused(pool, dicom_dir, path, CorruptImageError, r"1 RLE segments where 1 sample\(s\) of 16 bits need 2")


def test_a_transfer_syntax_holding_the_patient_name_is_not_quoted(pool, dicom_dir, tmp_path):
    """The message said "unknown transfer syntax <the value>": a damaged header put a name there."""
    data = bytearray((dicom_dir / GOOD).read_bytes())
    ts = b"1.2.840.10008.1.2\0"
    at = data.index(ts)
    data[at : at + len(ts)] = b"Covid0000".ljust(len(ts), b"\0")  # the file's patient name, same length
    path = tmp_path / "ts_name.dcm"
    path.write_bytes(bytes(data))
    message = _refused(pool, dicom_dir, path, UnsupportedCodecError, r"transfer syntax \(an unrecognised UID\)")
    assert "Covid0000" not in message


def test_an_instance_uid_as_sop_class_is_not_quoted(pool, dicom_dir, tmp_path):
    """Only UIDs of the standard's root are quoted; an instance UID identifies an image."""
    ds = pydicom.dcmread(dicom_dir / GOOD)
    instance = str(ds.SOPInstanceUID)
    ds.SOPClassUID = instance
    for keyword in ("PixelData", "Rows", "Columns"):
        delattr(ds, keyword)
    path = tmp_path / "no_pixels.dcm"
    ds.save_as(path)
    message = _refused(pool, dicom_dir, path, NoPixelDataError, r"SOP class: an unrecognised UID")
    assert instance not in message


def test_the_shared_files_still_decode(pool, dicom_files):
    """The checks refuse none of the real files (their codestreams agree with their headers)."""
    for path in dicom_files:
        assert pool.load(path).pixels.ndim == 2
