"""The colour-cast metric (blind to brightness and contrast, sensitive to a tint) and the crushed share."""

from __future__ import annotations

import numpy as np

from training.metrics import best_affine, colour_cast, crushed_share, psnr


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


def test_crushed_share_counts_pixels_with_any_band_clipped_to_black():
    image = _scene()  # 0.1-0.9: nothing crushed
    assert crushed_share(image, black=0.01) == 0.0
    over_subtracted = np.clip(image - 0.3, 0.0, 1.0)  # a too-large haze floor taken off
    expected = (image <= 0.3).any(axis=0).mean()
    assert 0.0 < expected < 1.0
    assert crushed_share(over_subtracted, black=0.0) == expected
    valid = np.zeros((32, 32), bool)
    valid[0, 0] = True
    assert crushed_share(over_subtracted, 0.0, valid) == float((image[:, 0, 0] <= 0.3).any())


def test_best_affine_undoes_a_per_band_gain_and_offset():
    rng = np.random.default_rng(0)
    target = rng.random((3, 20, 30)).astype(np.float32)
    gains, offsets = np.array([0.5, 1.2, 2.0]), np.array([0.3, -0.1, 0.05])
    pred = (target - offsets[:, None, None]) / gains[:, None, None]  # a global error per band only
    assert psnr(pred, target) < 20
    np.testing.assert_allclose(best_affine(pred, target), target, atol=1e-5)


def test_best_affine_never_adds_error_and_leaves_local_error():
    rng = np.random.default_rng(1)
    target = rng.random((3, 16, 16))
    pred = 0.8 * target + 0.1 + rng.normal(0, 0.05, target.shape)  # global and local error
    fitted = best_affine(pred, target)
    assert psnr(pred, target) < psnr(fitted, target) < float("inf")
    np.testing.assert_allclose(best_affine(target, target), target, atol=1e-12)  # a perfect result stays
