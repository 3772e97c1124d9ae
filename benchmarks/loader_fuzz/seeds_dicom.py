"""Small DICOM seeds cut from the shared radiographs, one per codec and pixel layout.

Full-size files take 0.1-1 s to decode; a 96 x 80 crop of the same image in the same
codec takes milliseconds and reaches the same decoder code, so most mutants start
from these. Every seed carries the planted identifiers (canaries.py).
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import (
    CTImageStorage,
    ComputedRadiographyImageStorage,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    RLELossless,
    SecondaryCaptureImageStorage,
)

from . import canaries

SOURCE_FILES = {"hip": "hip_cr_rle.dcm", "chest_cr": "chest_cr_mono1_j2k_lossy.dcm",
                "dental": "dental_cr_mono1_jpeg_lossless_modality_lut.dcm",
                "chest_dx": "chest_dx_mono2_uncompressed.dcm"}


def build(dicom_dir: Path, color_jpeg: Path) -> dict[str, bytes]:
    """name -> file bytes for every derived DICOM seed."""
    src = {key: pydicom.dcmread(dicom_dir / name) for key, name in SOURCE_FILES.items()}
    hip = src["hip"].pixel_array[1000:1096, 800:880].copy()  # 96 x 80, 10-bit
    seeds: dict[str, bytes] = {}
    for name, make in _makers(src, hip, color_jpeg).items():
        seeds[name] = make()
    return seeds


def _makers(src: dict[str, Dataset], hip: np.ndarray, color_jpeg: Path) -> dict[str, Callable[[], bytes]]:
    native = lambda: _gray(hip, 10)  # noqa: E731 - a table of small recipes
    return {
        "hip_native_le.dcm": lambda: _write(native()),
        "hip_implicit.dcm": lambda: _write(native(), implicit=True),
        "hip_bare_no_preamble.dcm": lambda: _bare(native()),
        "hip_deflated.dcm": lambda: _write(native(), ts=DeflatedExplicitVRLittleEndian),
        "hip_rle.dcm": lambda: _compressed(native(), RLELossless),
        "hip_j2k_lossless.dcm": lambda: _compressed(native(), JPEG2000Lossless),
        "hip_jpegls.dcm": lambda: _gdcm(_write(native()), "JPEGLSLossless"),
        "hip_jpegls_near.dcm": lambda: _gdcm(_write(native()), "JPEGLSNearLossless"),
        "hip_jpeg_lossless_sv1.dcm": lambda: _gdcm(_write(native()), "JPEGLosslessProcess14_1"),
        "hip_jpeg_lossless_p14.dcm": lambda: _gdcm(_write(native()), "JPEGLosslessProcess14"),
        "chest_cr_j2k_lossy.dcm": lambda: _compressed(_chest_cr(src["chest_cr"]), JPEG2000, j2k_cr=[15]),
        "dental_jpeg_lossless_lut.dcm": lambda: _gdcm(_write(_dental(src["dental"])), "JPEGLosslessProcess14_1"),
        "chest_dx_8bit_voi.dcm": lambda: _write(_chest_dx(src["chest_dx"]), implicit=True),
        "multiframe_native.dcm": lambda: _write(_frames(hip)),
        "multiframe_rle.dcm": lambda: _compressed(_frames(hip), RLELossless),
        "signed_rescale.dcm": lambda: _write(_signed(hip)),
        "float_pixels.dcm": lambda: _write(_float(hip)),
        "rgb_native.dcm": lambda: _write(_rgb(color_jpeg, planar=0)),
        "rgb_planar.dcm": lambda: _write(_rgb(color_jpeg, planar=1)),
        "rgb_rle.dcm": lambda: _compressed(_rgb(color_jpeg, planar=0), RLELossless),
        "ybr_jpeg_baseline.dcm": lambda: _write(_jpeg_baseline(color_jpeg, "RGB"), ts=JPEGBaseline8Bit),
        "gray_jpeg_baseline.dcm": lambda: _write(_jpeg_baseline(color_jpeg, "L"), ts=JPEGBaseline8Bit),
        "palette.dcm": lambda: _write(_palette(hip)),
    }


# ----- data sets ------------------------------------------------------------------------------
def _dataset(rows: int, cols: int, sop_class=ComputedRadiographyImageStorage) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = canaries.INSTANCE_UID
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, canaries.INSTANCE_UID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = canaries.STUDY_UID, canaries.SERIES_UID
    ds.PatientName, ds.PatientID = canaries.PATIENT_NAME, canaries.PATIENT_ID
    ds.Modality, ds.BodyPartExamined, ds.ViewPosition = "CR", "CHEST", "PA"
    ds.Rows, ds.Columns, ds.SamplesPerPixel = rows, cols, 1
    ds.PixelSpacing = [0.2, 0.2]
    return ds


def _gray(pixels: np.ndarray, stored: int, photometric: str = "MONOCHROME2") -> Dataset:
    ds = _dataset(*pixels.shape[-2:])
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = pixels.dtype.itemsize * 8
    ds.BitsStored, ds.HighBit = stored, stored - 1
    ds.PixelRepresentation = int(pixels.dtype.kind == "i")
    ds.WindowCenter, ds.WindowWidth = 511, 1024
    ds.RescaleSlope, ds.RescaleIntercept = 1, 0
    if pixels.ndim == 3:
        ds.NumberOfFrames = pixels.shape[0]
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()
    return ds


def _chest_cr(source: Dataset) -> Dataset:
    crop = source.pixel_array[900:964, 900:964].copy()  # MONOCHROME1, 15-bit
    ds = _gray(crop, 15, "MONOCHROME1")
    ds.WindowCenter, ds.WindowWidth = 16384, 32768
    return ds


def _dental(source: Dataset) -> Dataset:
    crop = source.pixel_array[700:764, 900:980].copy()
    ds = _gray(crop, 10, "MONOCHROME1")
    del ds.WindowCenter, ds.WindowWidth, ds.RescaleSlope, ds.RescaleIntercept
    ds.ModalityLUTSequence = Sequence([source.ModalityLUTSequence[0]])
    return ds


def _chest_dx(source: Dataset) -> Dataset:
    crop = source.pixel_array[400:464, 400:464].copy()  # 8-bit
    ds = _gray(crop, 8)
    del ds.WindowCenter, ds.WindowWidth
    item = Dataset()
    item.LUTDescriptor = [256, 0, 8]
    item.LUTExplanation = "soft"
    item.LUTData = np.minimum(np.arange(256) * 1.3, 255).astype("<u2").tobytes()
    ds.VOILUTSequence = Sequence([item])
    return ds


def _frames(hip: np.ndarray) -> Dataset:
    return _gray(np.stack([hip[:40, :32], hip[40:80, :32], hip[40:80, 40:72]]).copy(), 10)


def _signed(hip: np.ndarray) -> Dataset:
    ds = _gray((hip.astype(np.int16) - 512), 12)
    ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType = 1, -1024, "HU"
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    return ds


def _float(hip: np.ndarray) -> Dataset:
    ds = _gray(hip, 10)
    del ds.PixelData, ds.BitsStored, ds.HighBit, ds.PixelRepresentation
    ds.BitsAllocated = 32
    ds.FloatPixelData = (hip.astype(np.float32) / 4).tobytes()
    return ds


def _rgb(color_jpeg: Path, planar: int) -> Dataset:
    from PIL import Image

    rgb = np.asarray(Image.open(color_jpeg).convert("RGB"))[80:120, 90:138].copy()  # 40 x 48
    ds = _dataset(*rgb.shape[:2], SecondaryCaptureImageStorage)
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", planar
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = (rgb.transpose(2, 0, 1) if planar else rgb).tobytes()
    return ds


def _jpeg_baseline(color_jpeg: Path, mode: str) -> Dataset:
    from PIL import Image

    image = Image.open(color_jpeg).convert(mode).crop((64, 64, 128, 112))  # 64 x 48
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    ds = _dataset(image.height, image.width, SecondaryCaptureImageStorage)
    ds.SamplesPerPixel = 3 if mode == "RGB" else 1
    ds.PhotometricInterpretation = "YBR_FULL_422" if mode == "RGB" else "MONOCHROME2"
    if mode == "RGB":
        ds.PlanarConfiguration = 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = encapsulate([buffer.getvalue()])
    ds["PixelData"].VR = "OB"
    return ds


def _palette(hip: np.ndarray) -> Dataset:
    ds = _gray((hip[:40, :48] >> 2).astype(np.uint8), 8, "PALETTE COLOR")
    del ds.WindowCenter, ds.WindowWidth, ds.RescaleSlope, ds.RescaleIntercept
    ramp = np.arange(256, dtype=np.uint16) * 257
    for color, lut in (("Red", ramp), ("Green", ramp[::-1].copy()), ("Blue", ramp // 2)):
        setattr(ds, f"{color}PaletteColorLookupTableDescriptor", [256, 0, 16])
        setattr(ds, f"{color}PaletteColorLookupTableData", lut.tobytes())
    return ds


# ----- writing --------------------------------------------------------------------------------
def _write(ds: Dataset, ts: str = ExplicitVRLittleEndian, implicit: bool = False) -> bytes:
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ts
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _bare(ds: Dataset) -> bytes:
    """No preamble, no 'DICM', no file meta: an ACR-NEMA style file."""
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, ds, implicit_vr=True, little_endian=True)
    return buffer.getvalue()


def _compressed(ds: Dataset, ts: str, **options) -> bytes:
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.compress(ts, generate_instance_uid=False, **options)
    return _write(ds, ts=ts)


def _gdcm(data: bytes, syntax: str) -> bytes:
    """Transcode with GDCM: the only installed encoder for JPEG lossless and JPEG-LS."""
    import gdcm

    with tempfile.TemporaryDirectory(prefix="cxrfuzz-seed-") as folder:
        source, target = os.path.join(folder, "in.dcm"), os.path.join(folder, "out.dcm")
        Path(source).write_bytes(data)
        reader = gdcm.ImageReader()
        reader.SetFileName(source)
        if not reader.Read():
            raise RuntimeError("GDCM cannot read a seed it should")
        change = gdcm.ImageChangeTransferSyntax()
        change.SetTransferSyntax(gdcm.TransferSyntax(getattr(gdcm.TransferSyntax, syntax)))
        change.SetInput(reader.GetImage())
        writer = gdcm.ImageWriter()
        writer.SetFileName(target)
        writer.SetFile(reader.GetFile())
        if not change.Change():
            raise RuntimeError(f"GDCM cannot encode {syntax}")
        writer.SetImage(change.GetOutput())
        if not writer.Write():
            raise RuntimeError("GDCM cannot write the seed")
        return Path(target).read_bytes()
