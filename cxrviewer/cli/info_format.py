"""What `cxr info` prints: one record per file, as a JSON line or a line for people."""

from __future__ import annotations

import json
from pathlib import Path

from cxrviewer.io import ImageLoadError, LoadedImage

# The --json keys, in output order. Scripts depend on these names: do not rename.
JSON_KEYS = (
    "path", "ok", "kind", "width", "height", "bits", "photometric",
    "modality", "body_part", "view_position", "frames", "error",
    "windows", "value_min", "value_max",
)


def record_for_image(path: Path, image: LoadedImage) -> dict:
    return {
        "path": str(path),
        "ok": True,
        "kind": image.kind,
        "width": image.width,
        "height": image.height,
        "bits": image.bits,
        "photometric": image.photometric,
        "modality": image.modality or None,
        "body_part": image.body_part or None,
        "view_position": image.view_position or None,
        "frames": image.frames,
        "error": None,
        **value_scale(image),
    }


def value_scale(image: LoadedImage) -> dict:
    """The file's windows and the pixel value range, on the file's own scale (stored values
    through the Modality LUT; a MONOCHROME1 file's numbers are not mirrored). ``windows``
    are those the file carries (empty when the viewer made its own); a VOI LUT's centre and
    width are the straight line over its rise, with ``function`` "VOI LUT"."""
    low, high = image.value_range
    windows = [{"center": _number(w.center), "width": _number(w.width), "explanation": w.name,
                "function": w.kind} for w in (image.presets if image.windows_from_file else ())]
    return {"windows": windows, "value_min": _number(low), "value_max": _number(high)}


def _number(value: float) -> int | float:
    value = float(value)
    return int(value) if value.is_integer() else value


def record_for_error(path: Path, error: ImageLoadError, kind: str | None) -> dict:
    record = dict.fromkeys(JSON_KEYS)
    record.update(path=str(path), ok=False, kind=kind, error=str(error))
    return record


def json_line(record: dict) -> str:
    return json.dumps({key: record[key] for key in JSON_KEYS}, ensure_ascii=False)


def human_line(record: dict) -> str:
    """'path: DICOM 1841x1955, 15-bit MONOCHROME1, CR CHEST PA' or 'path: error: ...'."""
    if not record["ok"]:
        return f"{record['path']}: error: {_without_name(record['error'], record['path'])}"
    parts = [f"{record['kind'].upper()} {record['width']}x{record['height']}"]
    parts.append(f"{record['bits']}-bit {record['photometric']}")
    if record["frames"] > 1:
        parts.append(f"{record['frames']} frames (showing the first)")
    study = " ".join(record[k] for k in ("modality", "body_part", "view_position") if record[k])
    if study:
        parts.append(study)
    return f"{record['path']}: " + ", ".join(parts)


def _without_name(message: str, path: str) -> str:
    """Loader messages start with the file name; the line already shows the path."""
    prefix = Path(path).name + ": "
    return message[len(prefix):] if message.startswith(prefix) else message


def print_skipped(path, reason: str) -> None:
    """Every entry a folder walk leaves out is named, with why, on stderr (stdout stays one record per image)."""
    import sys

    print(f"skipped: {path}: {reason}", file=sys.stderr, flush=True)
