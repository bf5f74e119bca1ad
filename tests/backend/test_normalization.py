from __future__ import annotations

import numpy as np
import pytest

from backend.errors import InputRasterError
from backend.model_card import Normalization, SceneContext
from backend.normalization import (
    NormStats,
    compute_stats,
    context_vector,
    denormalize,
    nodata_fill,
    normalize,
    with_black_level,
)

PERCENTILE = Normalization(mode="percentile", low=2.0, high=98.0, range=(0.0, 1.0))


def test_fixed_roundtrip_uint8_is_exact() -> None:
    norm = Normalization(scale=1 / 255)
    data = np.arange(256, dtype=np.uint8).reshape(1, 16, 16)
    stats = compute_stats(data, norm)
    model = normalize(data, norm, stats)
    assert model.dtype == np.float32
    assert model.min() == 0.0 and model.max() == pytest.approx(1.0)
    assert np.array_equal(denormalize(model, norm, stats, dtype=np.uint8), data)


def test_percentile_roundtrip_uint16_is_exact() -> None:
    rng = np.random.default_rng(1)
    data = rng.integers(0, 65535, size=(3, 40, 30), dtype=np.uint16)
    stats = compute_stats(data, PERCENTILE)
    back = denormalize(normalize(data, PERCENTILE, stats), PERCENTILE, stats, dtype=np.uint16)
    assert np.array_equal(back, data)


def test_percentile_stats_are_global_and_ignore_nodata() -> None:
    data = np.full((1, 10, 10), -9999.0, dtype=np.float32)
    data[0, :5] = np.linspace(100, 200, 50).reshape(5, 10)
    stats = compute_stats(data, Normalization(mode="percentile", low=0, high=100), nodata=-9999.0)
    assert stats.low == (100.0,) and stats.high == (200.0,)


def test_joint_stretch_keeps_band_ratios() -> None:
    data = np.stack([np.full((4, 4), 10.0), np.full((4, 4), 20.0)]).astype(np.float32)
    joint = compute_stats(data, Normalization(mode="percentile", low=0, high=100))
    per_band = compute_stats(data, Normalization(mode="percentile", low=0, high=100, per_band=True))
    assert joint.low == (10.0, 10.0) and joint.high == (20.0, 20.0)
    # Constant bands get a unit-wide interval so the map stays invertible.
    assert per_band.low == (10.0, 20.0) and per_band.high == (11.0, 21.0)


def test_denormalize_maps_output_range_and_clips() -> None:
    norm = Normalization(scale=1 / 255, range=(0.0, 1.0))
    stats = compute_stats(np.zeros((1, 1, 1), np.uint8), norm)
    model_out = np.array([[[-1.0, 0.0, 1.0, 2.0]]], dtype=np.float32)  # a tanh-style (-1, 1) output
    out = denormalize(model_out, norm, stats, out_range=(-1.0, 1.0), dtype=np.uint8)
    assert out.tolist() == [[[0, 128, 255, 255]]]


def test_float_output_is_not_rounded() -> None:
    norm = Normalization(scale=0.5)
    stats = NormStats((0.0,), (2.0,))
    out = denormalize(np.array([[[0.25]]], np.float32), norm, stats, dtype=np.float32)
    assert out.dtype == np.float32 and out[0, 0, 0] == pytest.approx(0.5)


def test_nodata_fill_is_the_normalised_median_unless_the_model_has_a_mask() -> None:
    data = np.array([[[0, 10, 20, 30, 40, 200]], [[0, 1, 2, 3, 4, 5]]], dtype=np.uint16)
    norm = Normalization(mode="percentile", low=0.0, high=100.0)
    stats = compute_stats(data, norm, nodata=0)
    assert stats.fill == (30.0, 3.0)  # medians of the valid pixels only
    fill = nodata_fill(norm, stats, 2, has_mask=False)
    expected = normalize(np.array([[[30]], [[3]]], dtype=np.uint16), norm, stats)[:, 0, 0]
    assert np.allclose(fill, expected)
    assert np.array_equal(nodata_fill(norm, stats, 2, has_mask=True), np.full(2, norm.range[0], np.float32))


class _Sample:
    """A reader stand-in: ``sample()`` gives (bands, N) pixels, as ``RasterReader.sample`` does."""

    def __init__(self, pixels: np.ndarray, nodata: float | None = None) -> None:
        self.pixels, self.nodata = pixels, nodata

    def sample(self) -> np.ndarray:
        return self.pixels


def test_a_readers_band_by_pixel_sample_keeps_its_bands() -> None:
    # Three bands at very different levels: per-band statistics and medians stay per band.
    rng = np.random.default_rng(3)
    pixels = np.stack([rng.uniform(0, 10, 500), rng.uniform(100, 110, 500), rng.uniform(1000, 1010, 500)])
    per_band = Normalization(mode="percentile", low=0.0, high=100.0, per_band=True)
    stats = compute_stats(_Sample(pixels), per_band)
    assert np.allclose(stats.low, pixels.min(axis=1)) and np.allclose(stats.high, pixels.max(axis=1))
    assert np.allclose(stats.fill, np.median(pixels, axis=1), rtol=1e-3)


def test_scene_context_is_each_bands_percentiles_normalised_like_the_input() -> None:
    rng = np.random.default_rng(4)
    data = rng.uniform(0, 4000, size=(3, 50, 40)).astype(np.float32)
    data[1] += 2000
    data[:, :5, :5] = -1  # nodata: left out of the context like every other statistic
    norm = Normalization(mode="scale", high=99.5, range=(0.0, 0.8))
    stats = compute_stats(data, norm, nodata=-1, context=SceneContext("context", (1.0, 50.0)))
    valid = data[:, 5:, :].reshape(3, -1)  # rows 0-4 hold the hole and more valid pixels
    valid = np.concatenate([valid, data[:, :5, 5:].reshape(3, -1)], axis=1)
    expected_raster = np.percentile(valid, [1.0, 50.0], axis=1)  # (percentile, band)
    assert np.allclose(np.reshape(stats.context, (2, 3)), expected_raster)
    vector = context_vector(norm, stats, 3)
    as_image = expected_raster.reshape(2, 3, 1).transpose(1, 0, 2)  # (band, percentile, 1)
    assert np.allclose(vector.reshape(2, 3).T, normalize(as_image, norm, stats)[:, :, 0], atol=1e-6)
    with pytest.raises(ValueError, match="no scene context"):
        context_vector(norm, compute_stats(data, norm, nodata=-1), 3)


def test_a_black_level_anchors_a_scale_normalisation_and_the_inverse_adds_it_back() -> None:
    scale = Normalization(mode="scale", high=99.5, per_band=False, range=(0.0, 0.8))
    data = np.random.default_rng(3).integers(5000, 9000, size=(3, 30, 40)).astype(np.uint16)
    data[:, 0, 0] = 5000
    stats = compute_stats(data, scale)
    anchored = with_black_level(scale, stats, 5000)
    assert anchored.low == (5000.0,) * 3 and anchored.high == stats.high and anchored.fill == stats.fill
    model = normalize(data, scale, anchored)
    assert np.all(model[:, 0, 0] == 0.0)  # black ground -> 0, as in training
    bright = normalize(np.full((3, 1, 1), stats.high[0]), scale, anchored)
    assert np.allclose(bright, 0.8)  # and the raster's 99.5th percentile -> 0.8, as without it
    assert np.array_equal(denormalize(model, scale, anchored, (0.0, 0.8), dtype=np.uint16), data)
    with pytest.raises(InputRasterError, match="black level 9500 is not below the raster.s 99.5th"):
        with_black_level(scale, stats, 9500)
    with pytest.raises(ValueError, match="applies to 'scale' normalisation, not 'percentile'"):
        with_black_level(PERCENTILE, compute_stats(data, PERCENTILE), 5000)
