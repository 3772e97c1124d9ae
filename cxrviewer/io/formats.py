"""The one list of image file extensions, and the one test of "is this file worth opening".

Used by the folder walker, the file dialogs, the demo-image list, training data folders
and the OOD probe alike, so a file the viewer opens is a file training reads.
DICOM files often have no or odd extensions, so a file whose extension says nothing is
kept when its first bytes say DICOM, PNG or JPEG.
"""

from __future__ import annotations

from pathlib import Path

from .detect import read_head, sniff_kind

# Extensions that name an image format we read.
IMAGE_EXTENSIONS = frozenset({".dcm", ".dicom", ".dic", ".png", ".jpg", ".jpeg", ".jpe"})
# Never images, common beside them: skipped without opening.
NON_IMAGE_EXTENSIONS = frozenset({".txt", ".csv", ".json", ".xml", ".md", ".html", ".pdf", ".zip",
                                  ".py", ".log", ".ini", ".yaml", ".yml"})
NON_IMAGE_NAMES = frozenset({"DICOMDIR"})  # a directory index: DICOM without an image


def has_image_extension(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def is_image_file(path: str | Path) -> bool:
    """True for a file named like an image, or unnamed but starting like DICOM/PNG/JPEG."""
    path = Path(path)
    if path.name in NON_IMAGE_NAMES:
        return False
    suffix = path.suffix.lower()
    if suffix in IMAGE_EXTENSIONS:
        return True
    if suffix in NON_IMAGE_EXTENSIONS:
        return False
    try:
        return sniff_kind(read_head(path)) is not None
    except OSError:
        return False


def file_dialog_filter() -> str:
    """'Images (*.dcm ...);;All files (*)' for Qt file dialogs (All files: DICOM without extension)."""
    patterns = " ".join(f"*{ext}" for ext in sorted(IMAGE_EXTENSIONS))
    return f"Images ({patterns});;All files (*)"
