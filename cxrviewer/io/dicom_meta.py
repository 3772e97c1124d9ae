"""A DICOM data set as a flat, searchable "(gggg,eeee) Keyword" -> text mapping.

The values include patient data: they are for display only and must never be logged.
"""

from __future__ import annotations

from pydicom.datadict import keyword_for_tag
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.uid import UID

from .dicom_read import PIXEL_DATA_TAGS
from .quiet import quiet_warnings

MAX_VALUE_CHARS = 256
_BINARY_VRS = frozenset({"OB", "OW", "OD", "OF", "OL", "OV", "UN", "OB or OW", "US or OW"})


def tag_key(elem: DataElement | RawDataElement, keyword: str) -> str:
    return f"({elem.tag.group:04X},{elem.tag.element:04X}) {keyword}"


def flat_metadata(ds: Dataset) -> dict[str, str]:
    """Every element but the pixel data, file meta first, as display strings."""
    out: dict[str, str] = {}
    with quiet_warnings():
        meta = getattr(ds, "file_meta", None)
        for source in (meta, ds):
            if source is None:
                continue
            for tag in source.keys():
                if int(tag) in PIXEL_DATA_TAGS:
                    continue
                key, value = _describe(source, tag)
                out[key] = value
    return out


def _describe(ds: Dataset, tag) -> tuple[str, str]:
    raw = ds.get_item(tag, keep_deferred=True)
    if isinstance(raw, RawDataElement) and raw.value is None:
        # Deferred (large) element: say how big, do not read it.
        return tag_key(raw, keyword_for_tag(raw.tag) or "Private"), _bytes_summary(raw.length)
    try:
        elem = ds[tag]
    except Exception:  # noqa: BLE001 - an undecodable value must not lose the others
        return tag_key(raw, "Unreadable"), "<unreadable value>"
    return tag_key(elem, _label(elem)), format_value(elem)


def _label(elem: DataElement) -> str:
    if elem.keyword:
        return elem.keyword
    if elem.tag.is_private:
        creator = getattr(elem, "private_creator", None)
        return f"Private [{creator}]" if creator else "Private"
    return "Unknown"


def format_value(elem: DataElement) -> str:
    """One element's value as a short display string."""
    if elem.VR == "SQ":
        n = len(elem.value or [])
        return f"<sequence of {n} item{'s' if n != 1 else ''}>"
    value = elem.value
    if value is None or value == "":
        return ""
    if elem.VR in _BINARY_VRS or isinstance(value, (bytes, bytearray)):
        return _bytes_summary(len(value) if hasattr(value, "__len__") else 0)
    if isinstance(value, MultiValue):
        text = "\\".join(_scalar_text(v) for v in value)
    else:
        text = _scalar_text(value)
    return _truncate(text)


def _scalar_text(value) -> str:
    if isinstance(value, UID) and value.is_valid and value.name != str(value):
        return f"{value} ({value.name})"
    return str(value)


def _bytes_summary(length: int) -> str:
    return f"<{length} bytes>"


def _truncate(text: str) -> str:
    text = text.replace("\x00", "").strip()
    if len(text) <= MAX_VALUE_CHARS:
        return text
    return text[: MAX_VALUE_CHARS - 1] + "…"
