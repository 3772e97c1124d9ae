"""Image I/O: files to LoadedImage. Imports no Qt and no torch.

- ``load_image(path) -> LoadedImage``: DICOM (recognised by content), PNG or JPEG,
  first frame, float32 on the file's own scale (Modality LUT applied, never mirrored;
  ``display_inverted`` marks MONOCHROME1), the file's windows (with their VOI function
  or LUT) as presets. Raises only ImageLoadError subclasses, whose
  ``str()`` names the file and the problem for people:
  UnreadableFileError, EmptyFileError, NotAnImageError, TruncatedImageError,
  CorruptImageError, NoPixelDataError, UnsupportedCodecError, ImageTooLargeError.
- ``iter_image_files(paths)``: files as given, folders walked recursively in
  natural order, hidden entries skipped, DICOM without extension found by content.
- ``display_basics(image)``: patient/study fields for the viewer's corner overlay.

``LoadedImage.metadata`` and ``display_basics`` hold patient data: show, never log.
"""

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
from .walk import iter_image_files


def __getattr__(name: str):
    # load_image pulls in pydicom and its codec plugins (about half a second); the viewer
    # decodes in its decoder process, so its window is shown without paying for them.
    if name == "load_image":
        from .loader import load_image

        return load_image
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
