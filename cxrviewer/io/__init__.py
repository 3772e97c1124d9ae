"""Image I/O: files to LoadedImage. Imports no Qt and no torch."""

from .display_basics import display_basics
from .errors import (
    CorruptImageError,
    EmptyFileError,
    ImageLoadError,
    ImageTooLargeError,
    NoPixelDataError,
    NotAnImageError,
    TruncatedImageError,
    UnreadableFileError,
    UnsupportedCodecError,
)
from .image import LoadedImage, Window
from .limits import MAX_SIDE
from .loader import load_image
from .walk import iter_image_files

__all__ = [
    "MAX_SIDE",
    "CorruptImageError",
    "EmptyFileError",
    "ImageLoadError",
    "ImageTooLargeError",
    "LoadedImage",
    "NoPixelDataError",
    "NotAnImageError",
    "TruncatedImageError",
    "UnreadableFileError",
    "UnsupportedCodecError",
    "Window",
    "display_basics",
    "iter_image_files",
    "load_image",
]
