"""Turn a path into a LoadedImage. The format is recognised by content, not extension.

Every failure is raised as an ImageLoadError subclass whose message names the file
and says what is wrong; nothing else escapes load_image.
"""

from __future__ import annotations

import errno
import logging
from pathlib import Path

from .detect import describe_non_image, read_head, sniff_kind
from .dicom import load_dicom
from .errors import (
    CorruptImageError,
    EmptyFileError,
    ImageLoadError,
    NotAnImageError,
    UnreadableFileError,
)
from .image import LoadedImage
from .limits import MAX_SIDE
from .raster import load_raster

log = logging.getLogger(__name__)


def load_image(path: str | Path, frame: int = 0) -> LoadedImage:
    """Decode a DICOM, PNG or JPEG file into a display-ready LoadedImage.

    ``frame``: which frame (0-based) of a multi-frame DICOM; PNG and JPEG show their first.
    """
    path = Path(path)
    head = _read_head(path)
    kind = sniff_kind(head)
    if kind is None:
        raise NotAnImageError(f"{path.name}: {describe_non_image(head)}")
    try:
        if kind == "dicom":
            return load_dicom(path, bare=head[128:132] != b"DICM", frame_index=frame)
        return load_raster(path, kind)
    except ImageLoadError:
        raise
    except MemoryError as exc:
        raise ImageLoadError(f"{path.name}: not enough memory to open this image") from exc
    except OSError as exc:
        raise UnreadableFileError(f"{path.name}: read failed ({_reason(exc)})") from exc
    except BaseException as exc:  # noqa: BLE001 - the contract: only ImageLoadError escapes
        # Rust decoders (pylibjpeg-rle, -openjpeg) raise pyo3's PanicException on damaged
        # data, which derives from BaseException: catch it too, never the interpreter's own.
        if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
            raise
        log.debug("unexpected %s while loading a %s file", type(exc).__name__, kind)
        raise CorruptImageError(
            f"{path.name}: {kind.upper()} file could not be decoded ({type(exc).__name__})"
        ) from exc


def _read_head(path: Path) -> bytes:
    """The first bytes, with missing, folder, permission and empty files reported as such."""
    try:
        if path.exists() and not path.is_dir() and not path.is_file():
            # A FIFO or device would block or never end: never open one.
            raise UnreadableFileError(f"{path.name}: not a regular file (a pipe or device?)")
        head = read_head(path)
    except FileNotFoundError as exc:
        raise UnreadableFileError(f"{path.name}: file not found") from exc
    except IsADirectoryError as exc:
        raise UnreadableFileError(f"{path.name}: is a folder, not a file") from exc
    except PermissionError as exc:
        raise UnreadableFileError(f"{path.name}: permission denied") from exc
    except OSError as exc:
        raise UnreadableFileError(f"{path.name}: cannot be read ({_reason(exc)})") from exc
    if not head:
        raise EmptyFileError(f"{path.name}: file is empty (0 bytes)")
    return head


def _reason(exc: OSError) -> str:
    if exc.errno is not None and exc.strerror:
        return exc.strerror
    return errno.errorcode.get(exc.errno or 0, type(exc).__name__)


__all__ = ["MAX_SIDE", "load_image", "sniff_kind"]
