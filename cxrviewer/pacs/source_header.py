"""The source image's header, as the results we write inherit patient and study from it."""

from __future__ import annotations

import contextlib
import copy
import warnings
from pathlib import Path

from pydicom import Dataset, dcmread

# Type 2 in the Patient and General Study modules: present (maybe empty) in every image by
# the standard, missing in plenty of real ones; highdicom copies them and needs them there.
TYPE2_PATIENT_STUDY = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
                       "ReferringPhysicianName", "StudyID", "AccessionNumber")


def read_header(path: Path) -> Dataset:
    """The header without pixel data (the pixels are decoded in the sandbox, never here)."""
    return dcmread(path, stop_before_pixels=True)


def evidence_header(source: Dataset) -> Dataset:
    """A copy of ``source`` with the Type 2 patient/study attributes it lacks added empty."""
    header = copy.deepcopy(source)
    for keyword in TYPE2_PATIENT_STUDY:
        if keyword not in header:
            setattr(header, keyword, "")
    return header


@contextlib.contextmanager
def quiet_source_warnings():
    """highdicom and pydicom warn about the source's own header (a one-part patient name, a UID
    with a leading zero) while copying it into a result: nothing this run can fix, and the
    warning text quotes patient data."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield
