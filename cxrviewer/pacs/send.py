"""Send one image's reading back to its study: the SR, and the heat-map Secondary Capture when
there is a map. One new SR series and one new SC series per study and run."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from pydicom.uid import generate_uid

from cxrviewer.io.image import LoadedImage

from .model_identity import ModelIdentity
from .results_dicom import build_reading_sr
from .retrieve import InstanceRef
from .secondary_capture import build_overlay_sc, overlay_pixels
from .source_header import read_header

log = logging.getLogger(__name__)


class ResultSender:
    """``pacs``: anything with ``store(datasets, study_uid)`` (DicomWebPacs, a PacsClient, DimseStore)."""

    def __init__(self, pacs, model_dir: Path) -> None:
        self.pacs = pacs
        self.model = ModelIdentity.from_model_dir(model_dir)
        self._series: dict[str, tuple[str, str]] = {}  # study -> (SR series, SC series)
        self._numbers: dict[str, int] = {}

    def send(self, ref: InstanceRef, record: Mapping, image: LoadedImage | None = None,
             cam: np.ndarray | None = None, strength: float = 1.0) -> None:
        """Build and store the results for one successful reading; raises PacsError."""
        source = read_header(ref.path)
        sr_series, sc_series = self._series.setdefault(ref.study_uid, (generate_uid(), generate_uid()))
        number = self._numbers[ref.study_uid] = self._numbers.get(ref.study_uid, 0) + 1
        sr = build_reading_sr(source, record, self.model, series_uid=sr_series)
        sr.InstanceNumber = number
        datasets = [sr]
        if image is not None and cam is not None:
            sc = build_overlay_sc(source, overlay_pixels(image, cam, strength, record, self.model), self.model,
                                  series_uid=sc_series)
            sc.InstanceNumber = number
            datasets.append(sc)
        self.pacs.store(datasets, ref.study_uid)
        log.info("stored %d result object(s)", len(datasets))
