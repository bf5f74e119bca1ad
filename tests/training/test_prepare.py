"""Training inputs are normalised by the backend's function, exactly as the engine will do it."""

from __future__ import annotations

import dataclasses

import numpy as np

from backend.model_card import Normalization
from backend.normalization import compute_stats, denormalize, nodata_fill, normalize
from training.data.prepare import prepare_pair
from training.specs import get_spec
from training.synthesis.base import Degradation
from training.synthesis.nodata import NodataConfig, add_nodata


def test_input_and_target_share_the_input_statistics():
    rng = np.random.default_rng(0)
    clean = rng.random((3, 16, 16)).astype(np.float32)
    hazy = 0.5 * clean + 0.4
    spec = get_spec("desand")
    x, y, _ = prepare_pair(Degradation(inputs={"optical": hazy}, target=clean), spec)
    norm = spec.inputs[0].normalization
    stats = compute_stats(hazy, norm)
    np.testing.assert_allclose(x, normalize(hazy, norm, stats), atol=1e-6)
    # Mapping the target back with the *input's* statistics gives the clean raster: what users get.
    np.testing.assert_allclose(denormalize(y, norm, stats, spec.output_range), clean, atol=1e-5)


def test_clamped_outputs_clip_the_target_and_gaps_become_zero():
    rng = np.random.default_rng(1)
    clean = rng.random((3, 16, 16)).astype(np.float32)
    holed = clean.copy()
    holed[:, 4:6] = np.nan
    mask = np.isnan(holed[:1]).astype(np.float32)
    spec = get_spec("fill_gaps")
    x, y, _ = prepare_pair(Degradation(inputs={"optical": holed, "mask": mask}, target=clean), spec)
    # image (3), mask + its validity plane (2), absent reference (3 + validity, all zeros)
    assert x.shape == (9, 16, 16) and np.isfinite(x).all()
    assert (x[:3, 4:6] == 0).all() and np.array_equal(x[3], mask[0]) and (x[4] == 1).all()
    assert (x[5:] == 0).all()
    reference = 2.0 * clean + 0.1
    reference[:, 10:12] = np.nan  # the other date has gaps of its own
    deg = Degradation(inputs={"optical": holed, "mask": mask, "reference": reference}, target=clean)
    x, _, _ = prepare_pair(deg, spec)
    known = np.ones((16, 16), bool)
    known[10:12] = False
    np.testing.assert_array_equal(x[8], known)
    assert (x[5:8, ~known] == 0).all() and x[5:8, known].max() > 0.9  # stretched on its own statistics
    from training.config import PERCENTILE_01

    decloud = get_spec("decloud")  # with a percentile stretch of the degraded input (not its own)
    stretched = dataclasses.replace(decloud.inputs[0], normalization=PERCENTILE_01)
    clamped = dataclasses.replace(decloud, clamp_output=True, inputs=(stretched,), output_range=(0.0, 1.0))
    _, y, _ = prepare_pair(Degradation(inputs={"optical": 0.5 * clean + 0.5}, target=clean), clamped)
    assert y.min() == 0.0 and y.max() <= 1.0  # the clean darks fall below the hazy stretch: clipped


def test_output_range_is_mapped_from_the_input_range():
    rng = np.random.default_rng(2)
    clean = rng.random((3, 16, 16)).astype(np.float32)
    stretch = Normalization(mode="percentile", low=0.5, high=99.5, range=(0.38, 0.92))
    desand = get_spec("desand")
    spec = dataclasses.replace(  # input stretched onto [0.38, 0.92], output in the same range
        desand,
        inputs=(dataclasses.replace(desand.inputs[0], normalization=stretch),),
        output_range=stretch.range,
    )
    hazy = 0.6 * clean + 0.35
    x, y, _ = prepare_pair(Degradation(inputs={"optical": hazy}, target=clean), spec)
    assert x.min() >= 0.38 - 0.01 and x.max() <= 0.92 + 0.01
    norm = spec.inputs[0].normalization
    stats = compute_stats(hazy, norm)
    np.testing.assert_allclose(denormalize(y, norm, stats, spec.output_range), clean, atol=1e-5)
    other = dataclasses.replace(spec, output_range=(-1.0, 1.0))
    _, y2, _ = prepare_pair(Degradation(inputs={"optical": hazy}, target=clean), other)
    np.testing.assert_allclose(denormalize(y2, norm, stats, other.output_range), clean, atol=1e-5)


def test_nodata_collar_is_fed_as_the_engine_feeds_it_and_asks_for_nothing_there():
    rng = np.random.default_rng(2)
    clean = rng.random((3, 64, 64)).astype(np.float32)
    hazy = 0.6 * clean + 0.3
    spec = get_spec("dehaze")
    deg = add_nodata(Degradation(inputs={"optical": hazy}, target=clean), rng,
                     NodataConfig(probability=1.0, area=(0.2, 0.4)))
    region = np.isnan(deg.inputs["optical"]).all(axis=0)
    assert 0.15 < region.mean() < 0.45 and not np.isnan(deg.target).any()
    x, y, _ = prepare_pair(deg, spec)
    norm = spec.inputs[0].normalization
    stats = compute_stats(hazy[:, ~region][:, None], norm)
    # The engine's nodata value for a model without a mask: the normalised median of valid pixels.
    expected = nodata_fill(norm, stats, 3, has_mask=False)
    np.testing.assert_allclose(x[:, region], np.repeat(expected[:, None], region.sum(), 1), atol=1e-5)
    np.testing.assert_allclose(y[:, region], x[:, region], atol=1e-5)  # the loss asks for identity there
    np.testing.assert_allclose(x[:, ~region], normalize(hazy, norm, stats)[:, ~region], atol=1e-5)
