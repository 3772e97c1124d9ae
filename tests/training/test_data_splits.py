"""Splitting, class weights and manifest reading on generated data."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest

from training.data import (
    DataError,
    Sample,
    class_weights,
    group_balance_weights,
    load_dataset,
    sample_weights,
    split_samples,
)
from training.synthetic import make_dataset


def _samples(per_label: dict[str, int], group_size: int) -> list[Sample]:
    out = []
    for label, count in per_label.items():
        for i in range(count):
            out.append(Sample(Path(f"{label}{i}.png"), label, group=f"{label}-{i // group_size}", row=len(out) + 2))
    return out


def test_split_keeps_groups_whole_and_stratifies():
    samples = _samples({"a": 300, "b": 150, "c": 60}, group_size=3)
    result = split_samples(samples, val_fraction=0.1, test_fraction=0.2, seed=1)
    splits_per_group = defaultdict(set)
    for s in result:
        splits_per_group[s.group].add(s.split)
    assert all(len(v) == 1 for v in splits_per_group.values())
    for label, total in {"a": 300, "b": 150, "c": 60}.items():
        counts = Counter(s.split for s in result if s.label == label)
        assert abs(counts["test"] - 0.2 * total) <= 3  # one group of slack
        assert abs(counts["val"] - 0.1 * total) <= 3
        assert counts["train"] == total - counts["test"] - counts["val"]


def test_split_is_seeded():
    samples = _samples({"a": 40, "b": 40}, group_size=2)
    first = [s.split for s in split_samples(samples, seed=3)]
    assert first == [s.split for s in split_samples(samples, seed=3)]
    assert first != [s.split for s in split_samples(samples, seed=4)]


def test_given_split_is_kept_and_partial_split_refused():
    samples = _samples({"a": 4, "b": 4}, group_size=1)
    given = [Sample(s.path, s.label, "val" if i % 2 else "train", s.group, s.row) for i, s in enumerate(samples)]
    assert [s.split for s in split_samples(given)] == [s.split for s in given]
    partial = given[:3] + samples[3:]
    with pytest.raises(DataError, match="some rows only"):
        split_samples(partial)


def test_rows_without_group_are_their_own_group():
    samples = [Sample(Path(f"{i}.png"), "ab"[i % 2], row=i) for i in range(100)]
    result = split_samples(samples, 0.2, 0.0, seed=0)
    assert Counter(s.split for s in result)["val"] == 20


def test_class_weights_inverse_frequency_mean_one():
    weights = class_weights([0, 0, 0, 1], num_classes=3)
    # counts 3, 1, 0 -> present classes weighted 4/(2*3), 4/(2*1); absent class 0
    np.testing.assert_allclose(weights, [2 / 3, 2.0, 0.0], rtol=1e-6)
    per_sample = sample_weights([0, 0, 0, 1], 3)
    assert per_sample[:3].sum() == pytest.approx(per_sample[3])  # each class drawn equally often


def test_csv_manifest_keeps_extra_columns(tmp_path):
    csv_path = make_dataset(tmp_path, per_class=2)
    data = load_dataset(csv_path)
    assert data.labels == ("covid", "normal", "pneumonia")
    assert {s.extras["source"] for s in data.samples} == {"site0", "site1"}
    assert all(s.path.is_file() for s in data.samples)
    assert len(data.manifest_sha256) == 64


def test_image_folder_with_and_without_splits(tmp_path):
    make_dataset(tmp_path / "src", labels=("yes", "no"), per_class=3)
    flat = tmp_path / "flat"
    nested = tmp_path / "nested"
    for label in ("yes", "no"):
        for i, png in enumerate(sorted((tmp_path / "src" / "images" / label).glob("*.png"))):
            (flat / label).mkdir(parents=True, exist_ok=True)
            (flat / label / png.name).write_bytes(png.read_bytes())
            split = "val" if i == 0 else "train"
            (nested / split / label).mkdir(parents=True, exist_ok=True)
            (nested / split / label / png.name).write_bytes(png.read_bytes())
    flat_data = load_dataset(flat, labels=["no", "yes"])
    assert flat_data.labels == ("no", "yes") and len(flat_data.samples) == 6
    assert all(s.split == "" for s in flat_data.samples)
    nested_data = load_dataset(nested)
    assert Counter(s.split for s in nested_data.samples) == {"train": 4, "val": 2}


def test_group_balance_weights_equalise_cells_within_a_class():
    samples = [Sample(Path(f"{i}"), "pneumonia", extras={"age_group": "pediatric"}) for i in range(6)]
    samples += [Sample(Path(f"a{i}"), "pneumonia", extras={"age_group": "adult"}) for i in range(2)]
    samples += [Sample(Path(f"n{i}"), "normal", extras={"age_group": "adult"}) for i in range(3)]
    weights = group_balance_weights(samples, "age_group")
    assert weights[:6].sum() == pytest.approx(weights[6:8].sum())  # pediatric = adult within pneumonia
    assert weights[:8].mean() == pytest.approx(1.0) and weights[8:] == pytest.approx(1.0)
    with pytest.raises(DataError, match="no 'hospital' column"):
        group_balance_weights(samples, "hospital")
