"""Every mutator, where it applies and how often; mutant ``i`` of run seed ``s`` is always the same."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

from . import bombs, mutate_bytes, mutate_dicom, mutate_encapsulated, mutate_raster
from .seeds import Seed

log = logging.getLogger(__name__)

STACK_PROBABILITY = 0.15  # a structural mutant that also gets a few flipped bits


def _any(seed: Seed) -> bool:
    return True


def _dicom_header(seed: Seed) -> bool:
    return seed.layout is not None and bool(seed.layout.data)


def _dicom_meta(seed: Seed) -> bool:
    return seed.layout is not None


def _encapsulated(seed: Seed) -> bool:
    return seed.encapsulated is not None


def _deflatable(seed: Seed) -> bool:
    """Native Pixel Data in explicit VR little endian: the data set can be re-deflated as it is."""
    layout = seed.layout
    return (_dicom_header(seed) and seed.encapsulated is None and not layout.encoding.implicit
            and layout.encoding.little and layout.find(0x7FE00010) is not None)


def _png(seed: Seed) -> bool:
    return seed.kind == "png"


def _jpeg(seed: Seed) -> bool:
    return seed.kind == "jpeg"


def _raster(seed: Seed) -> bool:
    return seed.kind in ("png", "jpeg")


@dataclass(frozen=True)
class Mutator:
    name: str
    mutate: Callable[[random.Random, Seed], bytes]
    weight: float
    applies: Callable[[Seed], bool]


MUTATORS = (
    Mutator("bitflip", mutate_bytes.bitflip, 10, _any),
    Mutator("byteset", mutate_bytes.byteset, 6, _any),
    Mutator("truncate", mutate_bytes.truncate, 6, _any),
    Mutator("byte_range", mutate_bytes.byte_range, 4, _any),
    Mutator("dicom_field", mutate_dicom.dicom_field, 22, _dicom_header),
    Mutator("dicom_length", mutate_dicom.dicom_length, 7, _dicom_meta),
    Mutator("dicom_vr", mutate_dicom.dicom_vr, 5, _dicom_header),
    Mutator("ts_swap", mutate_dicom.ts_swap, 6, _dicom_meta),
    Mutator("identifier_inject", mutate_dicom.identifier_inject, 3, _dicom_header),
    Mutator("dicom_size_bomb", bombs.dicom_size_bomb, 3, _dicom_header),
    Mutator("deflate_bomb", bombs.deflate_bomb, 0.4, _deflatable),
    Mutator("encapsulation", mutate_encapsulated.encapsulation, 8, _encapsulated),
    Mutator("codestream_header", mutate_encapsulated.codestream_header, 16, _encapsulated),
    Mutator("png_chunk", mutate_raster.png_chunk, 25, _png),
    Mutator("png_size_bomb", bombs.png_size_bomb, 3, _png),
    Mutator("png_deflate_bomb", bombs.png_deflate_bomb, 0.4, _png),
    Mutator("jpeg_segment", mutate_raster.jpeg_segment, 25, _jpeg),
    Mutator("jpeg_size_bomb", bombs.jpeg_size_bomb, 1, _jpeg),  # each large one decodes for seconds
    Mutator("raster_identifier_inject", mutate_raster.raster_identifier_inject, 3, _raster),
)
_BOMBS = frozenset({"deflate_bomb", "png_deflate_bomb"})


@dataclass(frozen=True)
class Mutant:
    index: int
    seed: Seed
    mutator: str  # "dicom_field" or "dicom_field+bitflip"
    data: bytes

    @property
    def family(self) -> str:
        return self.mutator.split("+")[0]


def make_mutant(run_seed: int, index: int, seeds: list[Seed]) -> Mutant:
    rng = random.Random(f"{run_seed}:{index}")
    seed = rng.choices(seeds, weights=[s.weight for s in seeds])[0]
    usable = [m for m in MUTATORS if m.applies(seed)]
    mutator = rng.choices(usable, weights=[m.weight for m in usable])[0]
    name = mutator.name
    try:
        data = mutator.mutate(rng, seed)
        if name not in _BOMBS and not name.startswith("bit") and rng.random() < STACK_PROBABILITY:
            data = mutate_bytes.bitflip(rng, Seed(seed.name, seed.kind, data, seed.weight, seed.identifiers))
            name += "+bitflip"
    except Exception:  # noqa: BLE001 - a mutator bug must not stop the run; it is logged and counted
        log.exception("mutator %s failed on seed %s (mutant %d); the seed goes as it is", name, seed.name, index)
        name, data = "mutator_error", seed.data
    return Mutant(index, seed, name, data)
