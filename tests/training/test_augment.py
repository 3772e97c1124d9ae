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
