"""Training data: read a CSV manifest or an ImageFolder, check every row, split.

Rows are checked together before training starts: every missing file, unreadable
image and unknown label is reported in one DataError, not one per hour.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from cxrviewer.io import ImageLoadError, load_image
from cxrviewer.io.formats import is_image_file

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
MAX_REPORTED_ROWS = 30


class DataError(ValueError):
    """The data set cannot be used as given; the message lists every problem found."""


# Optional CSV columns naming drawn masks (PNG, white inside) of each image: the lung fields and
# the infected region, used by the CAM losses (--cam-lung-weight, --cam-infection-weight).
MASK_COLUMNS = ("lung_mask", "infection_mask")


@dataclass(frozen=True)
class Sample:
    path: Path
    label: str
    split: str = ""
    group: str = ""
    row: int = 0  # 1-based line in the CSV (or position in the folder listing)
    extras: dict[str, str] = field(default_factory=dict)  # source, age_group, ... for reporting


@dataclass(frozen=True)
class DataSet:
    samples: tuple[Sample, ...]
    labels: tuple[str, ...]
    manifest_sha256: str
    description: str


def load_dataset(data: str | Path, labels: Sequence[str] | None = None, check_images: bool = True) -> DataSet:
    """Read ``data`` (CSV manifest or ImageFolder root), validate all rows, return a DataSet."""
    data = Path(data)
    if data.is_file() and data.suffix.lower() == ".csv":
        samples, digest = read_csv_manifest(data)
    elif data.is_dir():
        samples, digest = read_image_folder(data)
    else:
        raise DataError(f"--data must be a CSV manifest or an image folder; {data} is neither")
    if not samples:
        raise DataError(f"{data} lists no images")
    label_set = tuple(labels) if labels else tuple(sorted({s.label for s in samples}))
    check_rows(samples, label_set, check_images)
    if len(label_set) < 2:
        raise DataError(f"need at least two classes, found {list(label_set)}")
    return DataSet(tuple(samples), label_set, digest, str(data))


def read_csv_manifest(csv_path: Path) -> tuple[list[Sample], str]:
    raw = csv_path.read_bytes()
    text = raw.decode("utf-8-sig")
    # newline="" lets the csv module keep line breaks inside quoted cells.
    reader = csv.DictReader(io.StringIO(text, newline=""))
    # Spreadsheets often write "path, label": header names are matched stripped.
    reader.fieldnames = [name.strip() for name in reader.fieldnames or []]
    columns = reader.fieldnames
    missing = [c for c in ("path", "label") if c not in columns]
    if missing:
        raise DataError(f"{csv_path.name}: missing column(s) {missing}; found {columns}")
    root = csv_path.parent
    samples = []
    for row in reader:
        line = reader.line_num  # the physical line where this row ends, for error messages
        extras = {k: (v or "") for k, v in row.items() if k not in ("path", "label", "split", "group") and k}
        for column in MASK_COLUMNS:  # paths, relative to the CSV like the image's own
            if extras.get(column, "").strip():
                extras[column] = str(root / extras[column].strip())
        samples.append(
            Sample(
                path=root / (row["path"] or "").strip(),
                label=(row["label"] or "").strip(),
                split=(row.get("split") or "").strip().lower(),
                group=(row.get("group") or "").strip(),
                row=line,
                extras=extras,
            )
        )
    return samples, hashlib.sha256(raw).hexdigest()


def read_image_folder(root: Path) -> tuple[list[Sample], str]:
    """root/<class>/* or root/<split>/<class>/* (split in train/val/test)."""
    subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not _hidden(p.name))
    split_layout = subdirs and all(p.name.lower() in SPLITS for p in subdirs)
    samples: list[Sample] = []
    for split_dir in subdirs if split_layout else [root]:
        split = split_dir.name.lower() if split_layout else ""
        for class_dir in sorted(p for p in split_dir.iterdir() if p.is_dir() and not _hidden(p.name)):
            for path in sorted(class_dir.rglob("*")):
                # Skip .DS_Store, macOS "._x.jpg" resource forks and hidden folders.
                hidden = any(_hidden(part) for part in path.relative_to(class_dir).parts)
                if not hidden and path.is_file() and is_image_file(path):
                    samples.append(Sample(path, class_dir.name, split, row=len(samples) + 1))
    listing = "\n".join(f"{s.path.relative_to(root)}\t{s.label}\t{s.split}" for s in samples)
    return samples, hashlib.sha256(listing.encode("utf-8")).hexdigest()


def _hidden(name: str) -> bool:
    return name.startswith(".")


def check_rows(samples: Sequence[Sample], labels: Sequence[str], check_images: bool) -> None:
    known = set(labels)
    problems: list[str] = []
    for s in samples:
        if not s.label or s.label not in known:
            problems.append(f"row {s.row}: unknown label {s.label!r} (known: {', '.join(labels)})")
        elif s.split and s.split not in SPLITS:
            problems.append(f"row {s.row}: unknown split {s.split!r} (use train, val or test)")
        elif not s.path.is_file():
            problems.append(f"row {s.row}: file not found: {s.path.name}")
    if check_images:
        readable = [s for s in samples if s.path.is_file()]
        problems.extend(_unreadable_images(readable))
    if problems:
        shown = "\n  ".join(problems[:MAX_REPORTED_ROWS])
        more = f"\n  ... and {len(problems) - MAX_REPORTED_ROWS} more" if len(problems) > MAX_REPORTED_ROWS else ""
        raise DataError(f"{len(problems)} bad row(s) in the data set:\n  {shown}{more}")


def _unreadable_images(samples: Sequence[Sample]) -> list[str]:
    def probe(sample: Sample) -> str | None:
        try:
            load_image(sample.path)
        except ImageLoadError as exc:
            return f"row {sample.row}: cannot read {sample.path.name}: {exc}"
        return None

    # Decoding releases the GIL (OpenCV, pydicom's codecs), so threads help here.
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="cxr-probe") as pool:
        return [p for p in pool.map(probe, samples) if p]


def split_samples(
    samples: Sequence[Sample], val_fraction: float = 0.1, test_fraction: float = 0.1, seed: int = 0
) -> list[Sample]:
    """Use the given split column where present, else a stratified, group-aware, seeded split.

    Whole groups go to one split (near-duplicates or one patient's images never
    leak across splits); groups are dealt out per majority label so every split
    keeps the class balance.
    """
    if all(s.split for s in samples):
        return list(samples)
    if any(s.split for s in samples):
        raise DataError("the split column is filled for some rows only; fill it for all or none")
    groups: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(samples):
        groups[s.group or f"__row{i}"].append(i)
    by_label: dict[str, list[str]] = defaultdict(list)
    for key, members in groups.items():
        majority = Counter(samples[i].label for i in members).most_common(1)[0][0]
        by_label[majority].append(key)
    rng = np.random.default_rng(seed)
    assigned: dict[int, str] = {}
    for label in sorted(by_label):
        keys = sorted(by_label[label])
        rng.shuffle(keys)
        _deal_groups(keys, groups, val_fraction, test_fraction, assigned)
    return [replace(s, split=assigned[i]) for i, s in enumerate(samples)]


def _deal_groups(keys, groups, val_fraction, test_fraction, assigned) -> None:
    total = sum(len(groups[k]) for k in keys)
    targets = {"test": test_fraction * total, "val": val_fraction * total}
    filled = {"test": 0, "val": 0}
    for key in keys:
        split = next((s for s in ("test", "val") if filled[s] < targets[s] - len(groups[key]) / 2), "train")
        if split != "train":
            filled[split] += len(groups[key])
        for i in groups[key]:
            assigned[i] = split


def class_weights(label_ids: Sequence[int], num_classes: int) -> np.ndarray:
    """Inverse-frequency weights, mean 1 over classes; an absent class gets weight 0."""
    counts = np.bincount(np.asarray(label_ids, dtype=np.int64), minlength=num_classes).astype(np.float64)
    weights = np.zeros(num_classes)
    present = counts > 0
    weights[present] = counts[present].sum() / (present.sum() * counts[present])
    return weights.astype(np.float32)


def sample_weights(label_ids: Sequence[int], num_classes: int) -> np.ndarray:
    """Per-sample weights for a balanced sampler (each class drawn equally often)."""
    ids = np.asarray(label_ids, dtype=np.int64)
    return class_weights(ids, num_classes)[ids].astype(np.float64)


def group_balance_weights(samples: Sequence[Sample], column: str) -> np.ndarray:
    """Per-sample weights giving each (label, column value) cell the same total weight within its label.

    Mean weight per label stays 1, so class balance is left to the class weights.
    """
    values = [s.extras.get(column, "") for s in samples]
    if not any(values):
        raise DataError(f"--reweight-by {column}: the data has no {column!r} column (or it is empty)")
    cells = Counter(zip((s.label for s in samples), values))
    per_label = Counter(s.label for s in samples)
    cells_per_label = Counter(label for label, _ in cells)
    weights = [per_label[s.label] / (cells_per_label[s.label] * cells[(s.label, v)]) for s, v in zip(samples, values)]
    return np.asarray(weights, dtype=np.float32)
