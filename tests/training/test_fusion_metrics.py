"""Fusion metrics on cases whose values follow from their definitions."""

from __future__ import annotations

import numpy as np
import pytest

from training.fusion_metrics import (
    fmi_pixel,
    fusion_cc,
    fusion_mi,
    fusion_psnr,
    fusion_scores,
    fusion_ssim,
    grey,
    mutual_information,
    qabf,
    vifp,
)

RNG = np.random.default_rng(0)


def _texture(seed: int, size: int = 64) -> np.ndarray:
    from scipy import ndimage

    noise = np.random.default_rng(seed).random((size, size))
    smooth = ndimage.gaussian_filter(noise, 2.0)
    return (smooth - smooth.min()) / np.ptp(smooth)


A, B = _texture(1), _texture(2)


def test_psnr_uses_the_toolbox_scale():
    f = np.full((8, 8), 0.5)
    a, b = np.full((8, 8), 0.4), np.full((8, 8), 0.7)  # errors 0.1 and 0.2: MSE (0.01 + 0.04) / 2
    assert fusion_psnr(a, b, f) == pytest.approx(20 * np.log10(255 / np.sqrt(0.025)))
    assert fusion_psnr(A, A, A) == float("inf")


def test_identical_images_score_their_ideal():
    assert fusion_ssim(A, A, A) == pytest.approx(1.0, abs=1e-6)
    assert fusion_cc(A, A, A) == pytest.approx(1.0)
    assert vifp(A, A) == pytest.approx(1.0)
    assert fmi_pixel(A, A, A) == pytest.approx(1.0)
    # Qabf's sigmoids give at most 0.9994 / (1 + e^-7.5) * 0.9879 / (1 + e^-4.4) for perfect edges.
    perfect = 0.9994 / (1 + np.exp(-15 * 0.5)) * 0.9879 / (1 + np.exp(-22 * 0.2))
    assert qabf(A, A, A) == pytest.approx(perfect, rel=1e-6)


def test_mutual_information_of_known_distributions():
    half = np.zeros((32, 32))
    half[:, 16:] = 1.0
    assert mutual_information(half, half) == pytest.approx(1.0)  # one fair bit
    assert mutual_information(half, 1 - half) == pytest.approx(1.0)  # inverted: the same bit
    assert mutual_information(half, np.full((32, 32), 0.3)) == pytest.approx(0.0)
    assert fusion_mi(half, half, half) == pytest.approx(2.0)


def test_more_of_a_source_scores_higher():
    noisy = np.clip(A + RNG.normal(0, 0.15, A.shape), 0, 1)
    for metric in (fusion_ssim, fusion_cc, fusion_mi, qabf, fmi_pixel):
        assert metric(A, B, A) > metric(A, B, noisy), metric.__name__
    assert vifp(A, A) > vifp(A, noisy) > 0
    # CC is symmetric in the sources; 1 - A is anti-correlated with A.
    assert fusion_cc(A, B, 1 - A) < fusion_cc(A, B, A) == pytest.approx(fusion_cc(A, B, B))


def test_scores_take_rgb_as_luminance():
    rgb = np.stack([A, A, A])
    assert np.allclose(grey(rgb), A)
    scores = fusion_scores(rgb, B[None], A)
    assert set(scores) == {"psnr", "ssim", "ms_ssim", "mi", "vif", "cc", "fmi_pixel", "qabf"}
    assert scores["ssim"] == pytest.approx(fusion_ssim(A, B, A))
