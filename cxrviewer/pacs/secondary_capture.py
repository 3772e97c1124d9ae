"""The film with the heat map and the reading burned in, as a DICOM Secondary Capture (highdicom).

Rendered by the one heat-map renderer (cxrviewer.imaging.heatmap.render_overlay, as
`cxr predict --cam-dir` does), captioned (burn_in), and filed in a new series of the
source's study. Burned In Annotation is YES: the caption is part of the pixels.
"""

from __future__ import annotations

import highdicom as hd
import numpy as np
from pydicom import Dataset
from pydicom.uid import generate_uid

from cxrviewer.imaging.heatmap import render_overlay
from cxrviewer.io.image import LoadedImage

from .burn_in import reading_lines, with_caption
from .model_identity import ModelIdentity
from .results_dicom import DISCLAIMER, MANUFACTURER, SERIES_DESCRIPTION
from .source_header import evidence_header, quiet_source_warnings

SC_SERIES_NUMBER = 9902


def overlay_pixels(image: LoadedImage, cam: np.ndarray, strength: float, record, model: ModelIdentity) -> np.ndarray:
    """RGB uint8: caption strip above the image in its default window with the map over it."""
    return with_caption(render_overlay(image, cam, strength), reading_lines(record, model))


def build_overlay_sc(source: Dataset, rgb: np.ndarray, model: ModelIdentity,
                     series_uid: str | None = None) -> hd.sc.SCImage:
    with quiet_source_warnings():
        source = evidence_header(source)
        orientation = _orientation(source)
        sc = hd.sc.SCImage.from_ref_dataset(
            ref_dataset=source, pixel_array=np.ascontiguousarray(rgb), photometric_interpretation="RGB",
            bits_allocated=8, coordinate_system="PATIENT", series_instance_uid=series_uid or generate_uid(),
            series_number=SC_SERIES_NUMBER, sop_instance_uid=generate_uid(), instance_number=1,
            manufacturer=MANUFACTURER, patient_orientation=orientation or ("L", "F"),
            series_description=SERIES_DESCRIPTION,
        )
    if orientation is None:
        sc.PatientOrientation = ""  # Type 2C: unknown, rather than the placeholder highdicom insists on
    sc.BurnedInAnnotation = "YES"
    sc.ImageComments = f"AI heat map and reading burned in. {DISCLAIMER}"
    sc.ManufacturerModelName = model.name[:64]
    sc.SoftwareVersions = model.software_version
    sc.DerivationDescription = "Heat map (class activation) of the AI reading over the source image"
    sc.SourceImageSequence = [_reference(source)]
    return sc


def _reference(source: Dataset) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = source.SOPClassUID
    item.ReferencedSOPInstanceUID = source.SOPInstanceUID
    return item


def _orientation(source: Dataset) -> tuple[str, str] | None:
    """The source's Patient Orientation when highdicom can take it (one letter each way), else None."""
    values = list(source.get("PatientOrientation") or [])
    if len(values) == 2 and all(str(v) in ("A", "P", "L", "R", "H", "F") for v in values):
        return str(values[0]), str(values[1])
    return None
