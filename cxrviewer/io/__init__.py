"""Image I/O: files to LoadedImage. Imports no Qt and no torch."""

from .errors import (
    ImageLoadError,
    ImageTooLargeError,
    NoPixelDataError,
    NotAnImageError,
    TruncatedImageError,
    UnreadableFileError,
    UnsupportedCodecError,
)
from .image import LoadedImage, Window
from .loader import load_image

__all__ = [
    "ImageLoadError",
    "ImageTooLargeError",
    "LoadedImage",
    "NoPixelDataError",
    "NotAnImageError",
    "TruncatedImageError",
    "UnreadableFileError",
    "UnsupportedCodecError",
    "Window",
    "load_image",
]
