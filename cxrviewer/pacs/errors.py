"""What can go wrong talking to a PACS, as messages a user can act on (no patient data in them)."""

from __future__ import annotations


class PacsError(Exception):
    """A PACS operation failed. ``str(exc)`` is the message for the user."""


class PacsUnreachable(PacsError):
    """The node could not be reached or did not answer in time: a setup problem, not a study's."""


class PacsAuthError(PacsError):
    """The node refused our credentials (HTTP 401/403, or a DIMSE association rejected)."""


class StudyProblem(PacsError):
    """One study could not be used (not found, no images): the others may still be."""
