"""Classical baselines do what they are known to do on inputs where the answer is known."""

from __future__ import annotations

import numpy as np

from training.baselines import BASELINES
from training.baselines.dcp import dark_channel_dehaze
from training.baselines.fillnodata import gdal_fill_nodata
from training.baselines.grayworld_clahe import clahe, gray_world, grayworld_clahe
from training.metrics import psnr


def _textured(seed: int = 0, size: int = 96) -> np.ndarray:
    from training.synthesis.noise import smooth_noise

    rng = np.random.default_rng(seed)
    image = np.stack([smooth_noise((size, size), rng, base_scale=12.0) for _ in range(3)])
    image[:, ::8, :] *= 0.1  # dark pixels everywhere: the dark channel prior holds
    return (0.05 + 0.8 * image).astype(np.float32)


def test_dark_channel_prior_removes_uniform_haze():
    clean = _textured()
    clean[:, :24, :24] = 0.9  # a bright, airlight-coloured patch: where DCP finds A
    hazy = clean * 0.6 + 0.9 * 0.4
    restored = dark_channel_dehaze(hazy)
    assert restored.shape == hazy.shape and restored.dtype == np.float32
    assert psnr(restored, clean) > psnr(hazy, clean) + 3


def test_fill_nodata_interpolates_narrow_gaps_and_fills_everything():
    yy, xx = np.mgrid[0:64, 0:64].astype(np.float32)
    ramp = np.stack([xx / 64, yy / 64, (xx + yy) / 128])
    holed = ramp.copy()
    holed[:, 30:33, :] = np.nan
    filled = gdal_fill_nodata(holed)
    assert np.isfinite(filled).all()
    np.testing.assert_array_equal(filled[:, :30], ramp[:, :30])
    assert np.abs(filled - ramp).max() < 0.03
    far = np.full((1, 64, 64), np.nan, dtype=np.float32)
    far[0, 0, 0] = 0.5
    assert np.isfinite(gdal_fill_nodata(far, max_distance=5)).all()


def test_gray_world_equalises_band_means_and_clahe_stretches_contrast():
    cast = _textured() * np.array([1.0, 0.7, 0.3], dtype=np.float32)[:, None, None]
    balanced = gray_world(cast)
    means = balanced.reshape(3, -1).mean(1)
    assert np.ptp(means) < 0.01
    flat = np.tile(np.linspace(0.4, 0.6, 128, dtype=np.float32), (128, 1))
    stretched = clahe(flat)
    assert np.ptp(stretched) > np.ptp(flat)
    assert np.ptp(clahe(np.full((64, 64), 0.3, dtype=np.float32))) == 0  # nothing to equalise
    out = grayworld_clahe(cast)
    assert out.shape == cast.shape and out.min() >= 0 and out.max() <= 1


def test_every_task_has_a_baseline_entry():
    from backend.tasks import TASKS

    assert set(BASELINES) == set(TASKS)


def test_llhm_maps_another_date_onto_the_target_and_falls_back_where_it_has_none():
    from training.baselines.llhm import local_linear_fill

    clean = _textured(3)
    reference = 0.5 * clean + 0.2  # another date: the same ground, other radiometry
    holed = clean.copy()
    holed[:, 40:46, :] = np.nan
    filled = local_linear_fill(holed, reference)
    np.testing.assert_array_equal(filled[:, :40], clean[:, :40])  # valid pixels untouched
    assert psnr(filled, clean) > 45  # the linear map is recovered exactly up to float error
    assert psnr(filled, clean) > psnr(gdal_fill_nodata(holed), clean) + 10
    reference[:, 40:46, :30] = np.nan  # the reference has a gap there too: FillNodata instead
    filled = local_linear_fill(holed, reference)
    assert np.isfinite(filled).all()
    np.testing.assert_allclose(filled[:, 40:46, :20], gdal_fill_nodata(holed)[:, 40:46, :20])
    assert BASELINES["fill_gaps"]["LLHM-style (reference date)"]({"optical": holed}) is None
