"""Which rows of the image list are shown: by AI class, out-of-distribution flag and study date."""

from __future__ import annotations

from dataclasses import dataclass

from cxrviewer.io.dicom_identity import ImageIdentity

OOD_ANY, OOD_ONLY, OOD_HIDE = "any", "only", "hide"


@dataclass(frozen=True)
class ListFilter:
    """``label``: only images the AI read as that class (None: any, read or not).
    ``ood``: OOD_ANY, OOD_ONLY (only those flagged unlike the training data) or OOD_HIDE.
    ``date_from``/``date_to``: YYYYMMDD, inclusive; an image without a study date is hidden
    once either is set."""

    label: str | None = None
    ood: str = OOD_ANY
    date_from: str = ""
    date_to: str = ""

    @property
    def active(self) -> bool:
        return self != ListFilter()

    def matches(self, identity: ImageIdentity, reading: tuple[str, bool] | None) -> bool:
        """``reading``: (label, ood flag) of the AI's result, None before one arrived."""
        if self.label is not None and (reading is None or reading[0] != self.label):
            return False
        if self.ood != OOD_ANY:
            flagged = reading is not None and reading[1]
            if flagged != (self.ood == OOD_ONLY):
                return False
        return self._date_matches(identity.study_date)

    def _date_matches(self, date: str) -> bool:
        if not (self.date_from or self.date_to):
            return True
        if not date:
            return False
        return (not self.date_from or date >= self.date_from) and (not self.date_to or date <= self.date_to)
