"""Errors raised by the image loader, each with a message meant for people."""

from __future__ import annotations


MAX_MESSAGE = 300


def safe_message(text: str, limit: int = MAX_MESSAGE) -> str:
    """Printable characters only, at most ``limit`` of them: a message never carries a file's bytes."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in str(text))
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


# UIDs under the standard's own root name SOP classes, transfer syntaxes and well-known
# instances: never a patient, a study or an image.
STANDARD_ROOT = "1.2.840.10008."


def safe_uid_name(uid) -> str:
    """A UID for a message: its registered name, a UID of the standard's root as it is,
    else a placeholder.

    Any other UID may be a study's or an image's instance UID (identifying data), and a
    damaged header can make a UID element swallow the rest of the file (pixel bytes, the
    patient's name); pydicom's ``UID.name`` would then quote all of it.
    """
    text = str(uid)
    if getattr(uid, "is_valid", False) and getattr(uid, "name", text) != text:
        return uid.name
    if text.startswith(STANDARD_ROOT) and len(text) <= 64 and all(ch.isdigit() or ch == "." for ch in text):
        return text
    return "an unrecognised UID"


class ImageLoadError(Exception):
    """A file could not be turned into an image. ``str(err)`` is shown to the user.

    Built only from safe facts (file name, what is wrong, which tag or codec); capped
    at MAX_MESSAGE printable characters whatever a caller passes in.
    """

    def __init__(self, message: str = "") -> None:
        super().__init__(safe_message(message))


class UnreadableFileError(ImageLoadError):
    """The file is missing, a directory, or cannot be read."""


class NotAnImageError(ImageLoadError):
    """The bytes are not a DICOM, PNG or JPEG image."""


class TruncatedImageError(ImageLoadError):
    """The file ends before the image data does."""


class NoPixelDataError(ImageLoadError):
    """A DICOM file without an image in it (a structured report, a KOS, ...)."""


class UnsupportedCodecError(ImageLoadError):
    """The image is compressed with a codec no installed plugin decodes."""


class ImageTooLargeError(ImageLoadError):
    """The image is larger than the viewer accepts."""


class EmptyFileError(ImageLoadError):
    """The file has no bytes at all (often a copy that has not finished)."""


class CorruptImageError(ImageLoadError):
    """The file is the right format but its header or image data is damaged."""
