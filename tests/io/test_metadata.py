"""The flat tag mapping, the corner-overlay basics, and keeping patient data out of logs."""

from __future__ import annotations

import contextlib
import logging
import warnings

import numpy as np
from pydicom.dataset import Dataset

from cxrviewer.io import ImageLoadError, display_basics, load_image
from cxrviewer.io.dicom_meta import MAX_VALUE_CHARS

NAME, PATIENT_ID = "Zzyzx^Quentin^Q", "PID-7781-XQ"


def _patient_file(make_dicom):
    item = Dataset()
    item.CodeValue = "1234"
    return make_dicom(
        np.arange(12, dtype=np.uint16).reshape(3, 4),
        PatientName=NAME,
        PatientID=PATIENT_ID,
        PatientBirthDate="19700102",
        StudyDate="20240131",
        StudyTime="081512.25",
        StudyDescription="CHEST PA",
        SeriesDescription="PA erect",
        SeriesNumber=3,
        Modality="CR",
        BodyPartExamined="CHEST",
        ViewPosition="PA",
        ImageComments="x" * 1000,
        ProcedureCodeSequence=[item, item],
    )


def test_every_element_listed_with_tag_and_keyword(make_dicom):
    meta = load_image(_patient_file(make_dicom)).metadata
    assert meta["(0010,0010) PatientName"] == NAME
    assert meta["(0010,0020) PatientID"] == PATIENT_ID
    assert meta["(0028,0010) Rows"] == "3"
    assert meta["(0008,1032) ProcedureCodeSequence"] == "<sequence of 2 items>"
    assert len(meta["(0020,4000) ImageComments"]) == MAX_VALUE_CHARS
    assert meta["(0020,4000) ImageComments"].endswith("…")
    assert not any(key.startswith("(7FE0,0010)") for key in meta)


def test_binary_values_are_summarised(make_dicom):
    path = make_dicom(np.zeros((2, 2), np.uint16), RedPaletteColorLookupTableData=b"\x01\x02" * 300)
    meta = load_image(path).metadata
    assert meta["(0028,1201) RedPaletteColorLookupTableData"] == "<600 bytes>"


def test_multi_values_joined_like_dicom(make_dicom):
    path = make_dicom(np.zeros((2, 2), np.uint16), ImageType=["ORIGINAL", "PRIMARY"])
    assert load_image(path).metadata["(0008,0008) ImageType"] == "ORIGINAL\\PRIMARY"


def test_display_basics_formats_for_the_corner_overlay(make_dicom):
    basics = display_basics(load_image(_patient_file(make_dicom)))
    assert basics["patient_name"] == "Zzyzx, Quentin Q"
    assert basics["patient_id"] == PATIENT_ID
    assert basics["study_date"] == "2024-01-31"
    assert basics["study_time"] == "08:15:12"
    assert basics["patient_birth_date"] == "1970-01-02"
    assert basics["series_number"] == "3"
    assert (basics["modality"], basics["body_part"], basics["view_position"]) == ("CR", "CHEST", "PA")


def test_display_basics_empty_for_png(tmp_path):
    from PIL import Image

    path = tmp_path / "a.png"
    Image.fromarray(np.zeros((2, 2), np.uint8)).save(path)
    basics = display_basics(load_image(path))
    assert basics["patient_name"] == "" and basics["modality"] == ""


def test_patient_data_never_reaches_the_log(make_dicom, caplog, tmp_path):
    """Load good and damaged files carrying patient data at DEBUG level: no log record
    (ours or pydicom's) may contain the name or ID."""
    good = _patient_file(make_dicom)
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(good.read_bytes()[:-10])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns while writing the invalid values
        # Some exporters build UIDs from patient IDs; pydicom's validation of the
        # invalid UID would quote it in a log message.
        invalid = make_dicom(np.zeros((2, 2), np.uint16), name="invalid.dcm",
                             PatientName=NAME * 10, StudyInstanceUID=f"1.2.{PATIENT_ID}")
    with caplog.at_level(logging.DEBUG):
        for path in (good, cut, invalid):
            with contextlib.suppress(ImageLoadError):  # only the log is under test here
                load_image(path)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "Zzyzx" not in text and "PID-7781" not in text
