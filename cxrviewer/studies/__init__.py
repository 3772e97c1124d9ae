"""Studies: images grouped by patient, study and series, priors, and list filters (no Qt).

- ``StudyIndex``: what the loader learnt of each opened file (its ImageIdentity), in order opened.
- ``group_images``: patients -> studies -> series -> image paths, newest study first; files that
  name no DICOM study (PNG, JPEG, bare DICOM) in one "files" group.
- ``choose_prior``: the same patient's most recent earlier study, for comparison.
- ``ListFilter``: which rows the list shows (AI class, out-of-distribution flag, study dates).

Identities hold patient data: show them, never log them.
"""

from .filters import OOD_ANY, OOD_HIDE, OOD_ONLY, ListFilter
from .grouping import FILES_GROUP, PatientGroup, SeriesGroup, StudyGroup, group_images
from .index import StudyIndex
from .priors import choose_prior, earlier_studies

__all__ = [
    "FILES_GROUP",
    "OOD_ANY",
    "OOD_HIDE",
    "OOD_ONLY",
    "ListFilter",
    "PatientGroup",
    "SeriesGroup",
    "StudyGroup",
    "StudyIndex",
    "choose_prior",
    "earlier_studies",
    "group_images",
]
