"""The seed corpus: the shared files themselves and small files derived from them.

Built the same way every run (no randomness), so a mutant is fully named by the
run's seed and its index.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from pydicom.uid import UID

from . import canaries, seeds_dicom, seeds_raster
from .dicom_bytes import Layout, parse_layout
from .encapsulated import Encapsulated, split

log = logging.getLogger(__name__)

# Relative weights: a derived seed decodes in milliseconds, a shared full-size file in
# 0.1-1 s, so the full-size files are drawn about 40 times less often each.
DERIVED_DICOM_WEIGHT = 1.0
DERIVED_RASTER_WEIGHT = 0.6
SHARED_DICOM_WEIGHT = 0.025
SHARED_RASTER_WEIGHT = 0.1
SHARED_RASTERS = ("samples/covid_hannover_4d98e1de.png", "samples/normal_kermany_IM-0195-0001.jpg",
                  "samples/pneumonia_viral_kermany_person1043_virus_1738.jpg")
GRAY_JPEG = "cxr3/images/cdb_normal/Normal-9601.jpg"
COLOR_JPEG = "samples/pneumonia_bacterial_kermany_person1049_bacteria_2983.jpg"


@dataclass(frozen=True)
class Seed:
    name: str
    kind: str  # "dicom" | "png" | "jpeg"
    data: bytes
    weight: float
    identifiers: tuple[str, ...]  # a message must contain none of these
    layout: Layout | None = field(default=None, repr=False)  # DICOM with preamble only
    encapsulated: Encapsulated | None = field(default=None, repr=False)

    @property
    def suffix(self) -> str:
        return {"dicom": ".dcm", "png": ".png", "jpeg": ".jpg"}[self.kind]


def build_seeds(shared: Path) -> list[Seed]:
    seeds = [_seed(name, data, DERIVED_DICOM_WEIGHT)
             for name, data in seeds_dicom.build(shared / "dicom", shared / COLOR_JPEG).items()]
    seeds += [_seed(name, data, DERIVED_RASTER_WEIGHT)
              for name, data in seeds_raster.build(shared / GRAY_JPEG, shared / COLOR_JPEG).items()]
    seeds += [_seed(path.name, path.read_bytes(), SHARED_DICOM_WEIGHT)
              for path in sorted((shared / "dicom").glob("*.dcm"))]
    seeds += [_seed(Path(rel).name, (shared / rel).read_bytes(), SHARED_RASTER_WEIGHT) for rel in SHARED_RASTERS]
    log.info("%d seeds (%d DICOM)", len(seeds), sum(s.kind == "dicom" for s in seeds))
    return seeds


def _seed(name: str, data: bytes, weight: float) -> Seed:
    kind = "png" if name.endswith(".png") else "jpeg" if name.endswith(".jpg") else "dicom"
    if kind != "dicom":
        return Seed(name, kind, data, weight, canaries.ALL)
    layout = parse_layout(data) if data[128:132] == b"DICM" else None
    encapsulated = split(data, layout) if layout is not None else None
    return Seed(name, kind, data, weight, canaries.ALL + _file_identifiers(data), layout, encapsulated)


def _file_identifiers(data: bytes) -> tuple[str, ...]:
    """The patient name and ID and every unregistered UID a shared file holds."""
    import io

    ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True, force=True)
    found = set()
    for keyword in ("PatientName", "PatientID"):
        value = str(ds.get(keyword, "") or "")
        if len(value) >= 4:  # "XX" would match ordinary words
            found.add(value)
    for elem in [*ds.file_meta, *ds.iterall()]:
        if elem.VR == "UI" and elem.value:
            for value in elem.value if isinstance(elem.value, list) else [elem.value]:
                text = str(value)
                if len(text) >= 8 and UID(text).name == text:  # not a registered (public) UID
                    found.add(text)
    return tuple(sorted(found))
