"""The site's labelled images: read, labels mapped onto the model's, folded by group.

Everything that can be wrong with the data (unknown labels, missing files, too few
images of a class) is found here, before any image is decoded or any model runs.
Rows whose ``split`` is ``test`` are set aside untouched: a site may keep them for
its own final check with ``cxr evaluate``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..data import DataError, Sample, check_rows, read_csv_manifest, read_image_folder

MIN_PER_CLASS = 4  # fewer images of a present class cannot be cross-validated


@dataclass(frozen=True)
class SiteData:
    samples: tuple[Sample, ...]  # labels already mapped to model labels; test rows excluded
    model_labels: tuple[str, ...]
    mapping: dict[str, str]  # site label -> model label
    manifest_sha256: str
    set_aside: int  # rows with split == test, not used

    @property
    def label_ids(self) -> np.ndarray:
        index = {name: i for i, name in enumerate(self.model_labels)}
        return np.array([index[s.label] for s in self.samples], dtype=np.int64)

    @property
    def present(self) -> tuple[int, ...]:
        """Model classes the site has images of; the others cannot be adapted or measured here."""
        return tuple(sorted(set(self.label_ids.tolist())))

    @property
    def counts(self) -> dict[str, int]:
        counted = Counter(s.label for s in self.samples)
        return {name: counted.get(name, 0) for name in self.model_labels}

    @property
    def groups(self) -> list[str]:
        return [s.group or f"row{s.row}" for s in self.samples]


def read_rows(data: Path) -> tuple[list[Sample], str]:
    if data.is_file() and data.suffix.lower() == ".csv":
        return read_csv_manifest(data)
    if data.is_dir():
        return read_image_folder(data)
    raise DataError(f"--data must be a CSV manifest or an image folder; {data} is neither")


def map_site_labels(site_labels: Sequence[str], model_labels: Sequence[str],
                    label_map: Sequence[tuple[str, str]] = ()) -> dict[str, str]:
    """Site label -> model label: --label-map first, then exact or obvious matches ("COVID-19" -> "covid").

    Raises DataError naming every label that maps to nothing, with the model's labels.
    """
    from ..evaluate import EvaluationInputError, map_labels

    explicit = dict(label_map)
    wrong_targets = sorted({t for t in explicit.values() if t not in model_labels})
    if wrong_targets:
        raise DataError(f"--label-map names labels the model does not have: {', '.join(wrong_targets)}; "
                        f"the model's labels are: {', '.join(model_labels)}")
    rest = sorted({s for s in site_labels if s not in explicit})
    try:
        mapping = map_labels(rest, model_labels) if rest else {}
    except EvaluationInputError as exc:
        raise DataError(f"{exc}; map site labels with --label-map SITE=MODEL,...") from None
    return {**mapping, **{s: t for s, t in explicit.items() if s in set(site_labels)}}


def load_site_data(data: Path, model_labels: Sequence[str], label_map: Sequence[tuple[str, str]] = (),
                   folds: int = 3) -> SiteData:
    rows, digest = read_rows(Path(data))
    if not rows:
        raise DataError(f"{data} lists no images")
    empty = [s.row for s in rows if not s.label]
    if empty:
        raise DataError(f"empty label on row(s) {', '.join(map(str, empty[:10]))}")
    mapping = map_site_labels([s.label for s in rows], model_labels, label_map)
    mapped = [replace(s, label=mapping[s.label]) for s in rows]
    check_rows(mapped, model_labels, check_images=False)  # every missing file / bad split, at once
    used = tuple(s for s in mapped if s.split != "test")
    site = SiteData(used, tuple(model_labels), mapping, digest, len(mapped) - len(used))
    _check_enough(site, folds)
    return site


def _check_enough(site: SiteData, folds: int) -> None:
    counts = {k: v for k, v in site.counts.items() if v}
    if len(counts) < 2:
        raise DataError(f"the site data needs images of at least two classes; found {counts or 'none'}")
    needed = max(MIN_PER_CLASS, folds)
    few = {k: v for k, v in counts.items() if v < needed}
    if few:
        raise DataError(f"too few images to adapt and measure: {few}; give at least {needed} per class")
    groups_per_class: dict[str, set] = defaultdict(set)
    for sample, group in zip(site.samples, site.groups):
        groups_per_class[sample.label].add(group)
    thin = {k: len(v) for k, v in groups_per_class.items() if len(v) < folds}
    if thin:
        raise DataError(f"classes with fewer patient groups than --folds {folds}: {thin}")


def make_folds(labels: np.ndarray, groups: Sequence[str], folds: int, seed: int) -> np.ndarray:
    """Fold number per image: whole groups per fold, classes spread evenly, seeded."""
    members: dict[str, list[int]] = defaultdict(list)
    for i, group in enumerate(groups):
        members[group].append(i)
    by_label: dict[int, list[str]] = defaultdict(list)
    for group, idx in members.items():
        by_label[Counter(labels[idx].tolist()).most_common(1)[0][0]].append(group)
    rng = np.random.default_rng(seed)
    assignment = np.zeros(len(labels), dtype=np.int64)
    load = np.zeros(folds)
    for label in sorted(by_label):
        keys = sorted(by_label[label])
        rng.shuffle(keys)
        class_load = np.zeros(folds)
        for key in keys:
            # The fold with the fewest of this class (then fewest overall) takes the group.
            fold = int(np.lexsort((load, class_load))[0])
            assignment[members[key]] = fold
            class_load[fold] += len(members[key])
            load[fold] += len(members[key])
    return assignment


def source_samples(data: Path, model_labels: Sequence[str], per_class: int, seed: int,
                   splits: Sequence[str] = ("", "train")) -> list[Sample]:
    """Up to ``per_class`` images per model class from the base model's own data, of ``splits``."""
    return balanced_pick(source_rows(data, model_labels), model_labels, per_class, seed, splits)


def source_rows(data: Path, model_labels: Sequence[str]) -> list[Sample]:
    """Every row of the base model's own data, labels mapped to the model's."""
    rows, _ = read_rows(Path(data))
    mapping = map_site_labels([s.label for s in rows], model_labels)
    return [replace(s, label=mapping[s.label]) for s in rows]


def balanced_pick(rows: Sequence[Sample], model_labels: Sequence[str], per_class: int, seed: int,
                  splits: Sequence[str]) -> list[Sample]:
    """Up to ``per_class`` existing files per class among the rows of ``splits``, seeded."""
    rng = np.random.default_rng(seed)
    chosen: list[Sample] = []
    for label in model_labels:
        pool = [s for s in rows if s.split in splits and s.label == label and s.path.is_file()]
        if pool:
            picks = rng.choice(len(pool), size=min(per_class, len(pool)), replace=False)
            chosen.extend(pool[i] for i in sorted(picks))
    return chosen


def draw_subset(samples: Sequence[Sample], size: int, seed: int) -> list[Sample]:
    """About ``size`` images drawn by whole groups, stratified by label (for benchmarks and the dialog preview)."""
    labels = np.array([s.label for s in samples])
    groups = [s.group or f"row{s.row}" for s in samples]
    rng = np.random.default_rng(seed)
    members: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        members[g].append(i)
    order = list(members)
    rng.shuffle(order)
    share = {lab: size * np.mean(labels == lab) for lab in set(labels.tolist())}
    taken: Counter = Counter()
    picked: list[int] = []
    for key in order:
        label = Counter(labels[members[key]].tolist()).most_common(1)[0][0]
        if taken[label] + len(members[key]) <= max(share[label], 1) + 0.5:
            picked.extend(members[key])
            taken[label] += len(members[key])
        if len(picked) >= size:
            break
    return [samples[i] for i in sorted(picked)]


def describe_site(data: Path, model_dir: Path, label_map: Sequence[tuple[str, str]] = (), folds: int = 3) -> dict:
    """What the viewer shows before a run: counts per model class, the label mapping, or every problem.

    Reads model.json only (no torch, no image decoding), so it answers in well under a second.
    """
    from cxrviewer.model.config import CONFIG_FILE, ModelConfig

    try:
        labels = ModelConfig.from_json((Path(model_dir) / CONFIG_FILE).read_text(encoding="utf-8")).labels
    except (OSError, ValueError) as exc:
        return {"ok": False, "problems": f"cannot read the model in {model_dir}: {exc}"}
    try:
        site = load_site_data(data, labels, label_map, folds)
    except DataError as exc:
        return {"ok": False, "problems": str(exc), "model_labels": list(labels)}
    return {"ok": True, "images": len(site.samples), "counts": site.counts, "mapping": site.mapping,
            "set_aside": site.set_aside, "model_labels": list(labels),
            "groups": len(set(site.groups)), "absent": [k for k, v in site.counts.items() if not v]}
