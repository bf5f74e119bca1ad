"""The colour-cast metric: blind to brightness and contrast, sensitive to a tint."""

from __future__ import annotations

import numpy as np

from training.metrics import colour_cast


def _scene(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.1, 0.9, size=(3, 32, 32))


def test_brightness_and_contrast_are_not_a_cast():
    image = _scene()
    assert colour_cast(image, image) < 1e-6
    assert colour_cast(image * 0.5, image) < 1e-6
    # A contrast stretch about a grey point keeps the mean colour's direction only if the mean is grey;
    # a pure gain does, whatever the scene.
    assert colour_cast(image * 1.7, image) < 1e-6


def test_a_tint_is_a_cast_and_grows_with_it():
    image = _scene()
    bluer = image * np.array([1.0, 1.0, 1.1])[:, None, None]
    much_bluer = image * np.array([1.0, 1.0, 1.3])[:, None, None]
    assert 1.0 < colour_cast(bluer, image) < colour_cast(much_bluer, image)


def test_invalid_pixels_are_left_out():
    image = _scene()
    tinted = image.copy()
    tinted[2, :, :16] += 0.5  # a blue stripe over the left half only
    valid = np.zeros((32, 32), bool)
    valid[:, 16:] = True
    assert colour_cast(tinted, image, valid) < 1e-6
    assert colour_cast(tinted, image) > 1.0
