"""Augmentations keep shape, dtype and range, and each switch really switches."""

from __future__ import annotations

import numpy as np
import pytest

from training.augment import AUGMENTATIONS, AugmentConfig, augment


@pytest.fixture()
def image() -> np.ndarray:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:64, 0:64]
    base = 0.3 + 0.4 * (xx / 63) + 0.05 * rng.standard_normal((64, 64))
    return np.clip(base, 0, 1).astype(np.float32)[None]


@pytest.mark.parametrize("name", AUGMENTATIONS)
def test_each_augmentation_changes_the_image_and_keeps_format(image, name):
    config = AugmentConfig(enabled=frozenset({name}), probability=1.0)
    out = augment(image, config, np.random.default_rng(1))
    assert out.shape == image.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert not np.allclose(out, image, atol=1e-4)


def test_disabled_augmentations_leave_the_image_alone(image):
    out = augment(image, AugmentConfig.from_names("none"), np.random.default_rng(1))
    np.testing.assert_array_equal(out, image)
    never = AugmentConfig(probability=0.0)
    np.testing.assert_array_equal(augment(image, never, np.random.default_rng(1)), image)


def test_hflip_is_off_by_default_and_mirrors_when_on(image):
    assert "hflip" not in AugmentConfig().enabled
    config = AugmentConfig.from_names("none", hflip=True, probability=1.0)
    np.testing.assert_array_equal(augment(image, config, np.random.default_rng(0)), image[:, :, ::-1])


def test_same_seed_same_view(image):
    config = AugmentConfig(probability=1.0)
    a = augment(image, config, np.random.default_rng([5, 1, 7]))
    b = augment(image, config, np.random.default_rng([5, 1, 7]))
    np.testing.assert_array_equal(a, b)


def test_unknown_augmentation_is_refused():
    with pytest.raises(ValueError, match="unknown augmentation"):
        AugmentConfig.from_names("rotate,blur")


def _drawn_lung_mask() -> np.ndarray:
    """A radiologist-drawn lung mask from the lungs set, as the 224-px model grid would hold it."""
    import csv

    import cv2

    from tests.data_root import data_root

    lungs = data_root() / "lungs"
    with open(lungs / "labels.csv", newline="") as fh:
        row = next(csv.DictReader(fh))
    mask = cv2.imread(str(lungs / row["lung_mask"]), cv2.IMREAD_GRAYSCALE) > 127
    return cv2.resize(mask.astype(np.uint8), (224, 224), interpolation=cv2.INTER_NEAREST).astype(bool)


@pytest.mark.parametrize("seed", range(4))
def test_masks_move_with_the_image_and_the_draws_stay_those_of_augment(seed):
    from training.augment import augment_with_masks
    import cv2

    mask = _drawn_lung_mask()
    film = mask.astype(np.float32)[None]  # an image that is its mask: where it goes, the mask must go
    config = AugmentConfig(enabled=frozenset({"rotate", "affine", "hflip", "gamma"}), probability=1.0)
    coarse = cv2.resize(mask.astype(np.float32), (56, 56), interpolation=cv2.INTER_AREA)
    out, (moved, moved_coarse) = augment_with_masks(film, [mask, coarse], config, np.random.default_rng(seed))
    np.testing.assert_array_equal(out, augment(film, config, np.random.default_rng(seed)))
    assert moved.dtype == bool and moved.sum() > 0.7 * mask.sum()
    assert ((out[0] > 0.5) != moved).mean() < 0.005  # the warped lungs lie where the warped film's are
    assert not np.array_equal(moved, mask)
    # the 56-px share map moved by the rescaled transform agrees with the moved full mask, area-averaged
    shrunk = cv2.resize(moved.astype(np.float32), (56, 56), interpolation=cv2.INTER_AREA)
    assert np.abs(shrunk - moved_coarse).mean() < 0.01
