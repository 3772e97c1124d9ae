"""Errors raised by the image loader, each with a message meant for people."""

from __future__ import annotations


class ImageLoadError(Exception):
    """A file could not be turned into an image. ``str(err)`` is shown to the user."""


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
