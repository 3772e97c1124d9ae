"""The measurements as a DICOM Grayscale Softcopy Presentation State (skipped without highdicom)."""

from __future__ import annotations

import pydicom
import pytest

from cxrviewer.measure.annotation import ARROW, CTR, ELLIPSE, RULER, TEXT, Annotation
from cxrviewer.measure.calibration import Calibration
from cxrviewer.measure.labels import label

pytest.importorskip("highdicom")
from cxrviewer.measure.gsps import write_presentation_state  # noqa: E402

HIP = "hip_cr_rle.dcm"


def test_presentation_state_references_the_image_and_holds_the_graphics(dicom_dir, tmp_path):
    source = dicom_dir / HIP
    cal = Calibration.of((0.2, 0.2), "PixelSpacing")
    items = [Annotation(RULER, ((100, 200), (600, 200))), Annotation(ELLIPSE, ((300, 300), (700, 500))),
             Annotation(CTR, ((100, 900), (1600, 900), (500, 1000), (1200, 1000))),
             Annotation(ARROW, ((50, 50), (90, 90))), Annotation(TEXT, ((800, 800),), "note")]
    target = tmp_path / "measurements_pr.dcm"
    write_presentation_state(source, [(a, label(a, cal)) for a in items], target)
    pr = pydicom.dcmread(target)
    image = pydicom.dcmread(source, stop_before_pixels=True)
    assert pr.SOPClassUID == "1.2.840.10008.5.1.4.1.1.11.1"  # Grayscale Softcopy Presentation State
    (annotation,) = pr.GraphicAnnotationSequence
    assert annotation.ReferencedImageSequence[0].ReferencedSOPInstanceUID == image.SOPInstanceUID
    types = [g.GraphicType for g in annotation.GraphicObjectSequence]
    assert types == ["POLYLINE", "ELLIPSE", "POLYLINE", "POLYLINE", "POLYLINE", "POLYLINE"]
    assert [float(v) for v in annotation.GraphicObjectSequence[0].GraphicData] == [100, 200, 600, 200]
    texts = [t.UnformattedTextValue for t in annotation.TextObjectSequence]
    assert texts[0] == "100.0 mm" and texts[-1] == "note" and texts[2].startswith("CTR 0.47")
