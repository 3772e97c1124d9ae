"""The few facts a viewer prints in the image corners, from a LoadedImage's metadata.

These are patient data: show them, never log them.
"""

from __future__ import annotations

from .image import LoadedImage

# field -> DICOM metadata key (see dicom_meta.tag_key)
_DICOM_FIELDS = {
    "patient_name": "(0010,0010) PatientName",
    "patient_id": "(0010,0020) PatientID",
    "patient_sex": "(0010,0040) PatientSex",
    "patient_birth_date": "(0010,0030) PatientBirthDate",
    "study_date": "(0008,0020) StudyDate",
    "study_time": "(0008,0030) StudyTime",
    "study_description": "(0008,1030) StudyDescription",
    "series_description": "(0008,103E) SeriesDescription",
    "series_number": "(0020,0011) SeriesNumber",
    "instance_number": "(0020,0013) InstanceNumber",
    "institution": "(0008,0080) InstitutionName",
    "laterality": "(0020,0060) Laterality",
}
FIELDS = (*_DICOM_FIELDS, "modality", "body_part", "view_position")


def display_basics(image: LoadedImage) -> dict[str, str]:
    """Corner-overlay fields (FIELDS, in that order); empty strings where unknown.

    Names become "FAMILY, Given", dates YYYY-MM-DD and times HH:MM:SS.
    """
    meta = image.metadata
    out = {name: meta.get(key, "") for name, key in _DICOM_FIELDS.items()}
    out["patient_name"] = format_person_name(out["patient_name"])
    for name in ("study_date", "patient_birth_date"):
        out[name] = format_date(out[name])
    out["study_time"] = format_time(out["study_time"])
    out["modality"] = image.modality
    out["body_part"] = image.body_part
    out["view_position"] = image.view_position
    return out


def format_person_name(value: str) -> str:
    """DICOM PN 'Family^Given^Middle^Prefix^Suffix' as 'Family, Given Middle'."""
    alphabetic = value.split("=")[0]
    parts = [p.strip() for p in alphabetic.split("^")]
    family = parts[0] if parts else ""
    rest = " ".join(p for p in parts[1:3] if p)
    return f"{family}, {rest}" if family and rest else family or rest


def format_date(value: str) -> str:
    """DICOM DA 'YYYYMMDD' as 'YYYY-MM-DD'; anything else unchanged."""
    value = value.strip()
    if len(value) == 8 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return value


def format_time(value: str) -> str:
    """DICOM TM 'HHMMSS.frac' as 'HH:MM:SS'; anything else unchanged."""
    digits = value.strip().split(".")[0]
    if len(digits) >= 4 and digits.isdigit():
        pieces = [digits[i : i + 2] for i in range(0, min(len(digits), 6), 2)]
        return ":".join(pieces)
    return value
