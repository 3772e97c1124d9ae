"""The annotations as a DICOM Grayscale Softcopy Presentation State (highdicom, when installed).

A presentation state keeps the measurements with the study in PACS, where other viewers
show them over the same image: outlines as POLYLINE/ELLIPSE graphics and every label as
a text object anchored where the viewer draws it, all in the image's pixel coordinates
(top-left corner of the image 0\\0, as cxrviewer's). Without highdicom, ``available()``
is False and the viewer offers no such export.
"""

from __future__ import annotations

import importlib.util
import math
from io import BytesIO
from pathlib import Path

import numpy as np

from cxrviewer import __version__
from cxrviewer.atomic_files import atomic_write_bytes

from .annotation import ARROW, CTR, ELLIPSE, RECTANGLE, TEXT, Annotation
from .geometry import box
from .placement import place


def available() -> bool:
    return importlib.util.find_spec("highdicom") is not None


def _outlines(a: Annotation) -> list[tuple[str, np.ndarray]]:
    pts = np.array(a.points, dtype=float)
    if a.kind in (ELLIPSE, RECTANGLE):
        left, top, width, height = box(*a.points)
        if a.kind == RECTANGLE:
            corners = [(left, top), (left + width, top), (left + width, top + height), (left, top + height), (left, top)]
            return [("POLYLINE", np.array(corners))]
        cx, cy = left + width / 2, top + height / 2  # DICOM ELLIPSE: major axis ends, then minor
        if width >= height:
            axes = [(left, cy), (left + width, cy), (cx, top), (cx, top + height)]
        else:
            axes = [(cx, top), (cx, top + height), (left, cy), (left + width, cy)]
        return [("ELLIPSE", np.array(axes))]
    if a.kind == CTR:
        return [("POLYLINE", pts[0:2]), ("POLYLINE", pts[2:4])]
    if a.kind == TEXT:
        return []
    lines = [("POLYLINE", pts)]
    if a.kind == ARROW:
        lines.append(("POLYLINE", _head(pts[0], pts[1])))
    return lines


def _head(tail: np.ndarray, tip: np.ndarray) -> np.ndarray:
    size = max(4.0, 0.08 * float(np.hypot(*(tip - tail))))
    angle = math.atan2(tip[1] - tail[1], tip[0] - tail[0])
    wing = [(tip[0] - size * math.cos(angle + s), tip[1] - size * math.sin(angle + s)) for s in (0.45, -0.45)]
    return np.array([wing[0], tuple(tip), wing[1]])


def write_presentation_state(source: Path, labelled: list[tuple[Annotation, str]], target: Path) -> None:
    """Write a GSPS referencing the DICOM file ``source`` with these annotations and labels."""
    import highdicom as hd
    import pydicom

    image = pydicom.dcmread(source, stop_before_pixels=True)
    rows, cols = int(image.Rows), int(image.Columns)
    layer = hd.pr.GraphicLayer(layer_name="CXRVIEWER", order=1, description="cxrviewer measurements")
    graphics, texts = [], []
    for annotation, label in labelled:
        for kind, data in _outlines(annotation):
            data = np.clip(data, 0, [cols, rows])
            graphics.append(hd.pr.GraphicObject(graphic_type=kind, graphic_data=data, units="PIXEL"))
        if label:
            where = place(annotation, cols)
            anchor = (min(max(where.x, 0.0), cols), min(max(where.y, 0.0), rows))
            texts.append(hd.pr.TextObject(text_value=label.replace("\n", "; ")[:1024], units="PIXEL",
                                          anchor_point=anchor, anchor_point_visible=annotation.kind == TEXT))
    annotations = [hd.pr.GraphicAnnotation(referenced_images=[image], graphic_layer=layer,
                                           graphic_objects=graphics or None, text_objects=texts or None)]
    state = hd.pr.GrayscaleSoftcopyPresentationState(
        referenced_images=[image], series_instance_uid=hd.UID(), series_number=9901,
        sop_instance_uid=hd.UID(), instance_number=1, manufacturer="cxrviewer",
        manufacturer_model_name="cxrviewer", software_versions=__version__, device_serial_number="none",
        content_label="MEASUREMENTS", content_description="cxrviewer measurements",
        graphic_annotations=annotations, graphic_layers=[layer])
    buffer = BytesIO()
    state.save_as(buffer)
    atomic_write_bytes(target, buffer.getvalue())
