"""Build the hostile-file corpus from the shared files (deterministic; used by tests/io/test_hostile_corpus.py).

    python tests/hostile_corpus.py OUT_DIR      # writes the files, prints what each should give

Each entry: a small file that once crashed, hung or leaked from cxrviewer, and the
ImageLoadError subclass the loader must raise for it now.
"""

from __future__ import annotations

import io
import os
import runpy
import struct
import sys
import zlib
from pathlib import Path

import pydicom

REPO = Path(__file__).resolve().parents[1]
SHARED = runpy.run_path(str(Path(__file__).with_name("data_root.py")))["data_root"]()  # full sets, else tests/data

# name -> expected error class name
EXPECTED = {
    "rle_panic.dcm": "CorruptImageError",  # pylibjpeg-rle panics (pyo3 PanicException, a BaseException)
    "gdcm_abort.dcm": "CorruptImageError",  # GDCM aborts the process: BitsAllocated 32 over 16-bit JPEG lossless
    "gdcm_abort_rows.dcm": "CorruptImageError",  # GDCM aborts: Rows 4000 over JPEG-LS data of 2140 rows
    "uid_swallow.dcm": "ImageLoadError",  # SOP Class UID whose length swallows the patient module and pixels
    "png_bomb.png": "ImageTooLargeError",  # a 40-byte IHDR claiming 60000 x 60000
    "frames_bomb.dcm": "ImageTooLargeError",  # NumberOfFrames 400 at 2140 x 1760 x 16 bit
    "deflate_bomb.dcm": "ImageTooLargeError",  # 1 MB of deflated data set that inflates to 1 GiB
}
# files that must open, whatever their names: name (bytes, as the file system holds it) -> source
DECODES = {b"caf\xe9_latin1.png": "resources/demo/covid_hannover_4d98e1de.png"}  # not valid UTF-8
# walked folders: name -> the reason the walk skips it
SKIPPED = {"pipe.dcm": "not a regular file (a pipe, socket or device)", "broken.png": "broken link"}
PATIENT_NAME = "Covid0000"  # in chest_dx_mono2_uncompressed.dcm, the source of uid_swallow.dcm


def build(out: Path) -> dict[str, str]:
    out.mkdir(parents=True, exist_ok=True)
    dicom = SHARED / "dicom"
    data = bytearray((dicom / "hip_cr_rle.dcm").read_bytes())
    data[1516] = 134
    (out / "rle_panic.dcm").write_bytes(bytes(data))
    ds = pydicom.dcmread(dicom / "hip_cr_jpeg_lossless.dcm")
    ds.BitsAllocated = 32
    ds.save_as(out / "gdcm_abort.dcm")
    ds = pydicom.dcmread(dicom / "hip_cr_jpegls_lossless.dcm")
    ds.Rows = 4000
    ds.save_as(out / "gdcm_abort_rows.dcm")
    ds = pydicom.dcmread(dicom / "hip_cr_rle.dcm")
    ds.NumberOfFrames = 400
    ds.save_as(out / "frames_bomb.dcm")
    _uid_swallow(dicom / "chest_dx_mono2_uncompressed.dcm", out / "uid_swallow.dcm")
    _png_bomb(out / "png_bomb.png")
    _deflate_bomb(dicom / "chest_dx_mono2_uncompressed.dcm", out / "deflate_bomb.dcm")
    for name, source in DECODES.items():
        (out / os.fsdecode(name)).write_bytes((REPO / source).read_bytes())
    if hasattr(os, "mkfifo") and not (out / "pipe.dcm").exists():
        os.mkfifo(out / "pipe.dcm")
    if not (out / "broken.png").is_symlink():
        (out / "broken.png").symlink_to(out / "gone.png")
    return dict(EXPECTED)


def _uid_swallow(source: Path, target: Path) -> None:
    data = bytearray(source.read_bytes())
    tag = data.index(b"\x08\x00\x16\x00", 132 + 100)  # (0008,0016) in the implicit-VR data set
    data[tag + 4 : tag + 8] = struct.pack("<I", len(data) - tag - 8)  # its value runs to the end of the file
    target.write_bytes(bytes(data))


def _deflate_bomb(source: Path, target: Path) -> None:
    """A real header (1024 x 1024, 8-bit) whose deflated data set goes on with 1 GiB of padding.

    Built from full-flush blocks of zeros, each independent of the ones before it, so
    the bomb costs milliseconds to write instead of deflating a gigabyte.
    """
    ds = pydicom.dcmread(source)
    ds.file_meta.TransferSyntaxUID = pydicom.uid.DeflatedExplicitVRLittleEndian
    written = io.BytesIO()
    pydicom.dcmwrite(written, ds, enforce_file_format=True)
    meta = written.getvalue()[:_meta_length(written.getvalue())]
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    plain = io.BytesIO()
    pydicom.dcmwrite(plain, ds, enforce_file_format=True)
    dataset = plain.getvalue()[_meta_length(plain.getvalue()):]
    padding = 2**30  # Data Set Trailing Padding (FFFC,FFFC), OB
    element = b"\xfc\xff\xfc\xff" + b"OB\0\0" + struct.pack("<I", padding)
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = deflater.compress(dataset + element) + deflater.flush(zlib.Z_FULL_FLUSH)
    block = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    zeros = block.compress(b"\0" * 2**24) + block.flush(zlib.Z_FULL_FLUSH)
    target.write_bytes(meta + body + zeros * (padding // 2**24) + deflater.flush())


def _meta_length(data: bytes) -> int:
    """Bytes of preamble, 'DICM' and group 2 (its group length element says how long it is)."""
    (group_length,) = struct.unpack("<I", data[140:144])  # (0002,0000) UL, explicit VR
    return 144 + group_length


def _png_bomb(target: Path) -> None:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 60000, 60000, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 60001 * 4)
    target.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


if __name__ == "__main__":
    for name, expected in build(Path(sys.argv[1])).items():
        print(f"{name}: {expected}")
