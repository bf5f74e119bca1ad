"""The RS-Haze sample pair: what is scored where, and the strengths through the engine."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from training.evaluate import INPUT_METHOD, score
from training.evaluation import rs_haze_pair


def test_rs_haze_pair_scores_tile_block_and_strengths(context, shared_data):
    ctx = dataclasses.replace(context, data_root=shared_data)
    result = rs_haze_pair.rs_haze_sample(ctx)
    clean, hazy = rs_haze_pair.rs_haze_tile(shared_data, ctx.model.bands)
    assert clean.shape == (3, 512, 512) and clean.min() >= 0 and clean.max() <= 1
    data = result.data
    assert data["test_blocks"] == [[256, 512, 256, 512]]
    assert set(data) == {"test_blocks", "max", "minmax", "none"}
    # the hazy input scored on the whole tile and on its held-out block
    assert data["max"]["whole_tile"][INPUT_METHOD]["psnr"] == pytest.approx(score(hazy["max"], clean)["psnr"])
    block = (slice(None), slice(256, 512), slice(256, 512))
    assert data["max"]["test_block_y256_x256"][INPUT_METHOD]["psnr"] == pytest.approx(
        score(hazy["max"][block], clean[block])["psnr"])
    assert INPUT_METHOD not in data["none"]["whole_tile"]  # the clean tile is the reference itself
    # Strength 0.25 keeps a quarter of the model's change: between the input and the full model
    strengths = data["minmax"]["whole_tile_strength"]
    assert list(strengths) == [str(s) for s in rs_haze_pair.STRENGTHS]
    full = ctx.model(hazy["minmax"])
    quarter = ctx.model(hazy["minmax"], strength=0.25)
    np.testing.assert_allclose(quarter, hazy["minmax"] + 0.25 * (full - hazy["minmax"]), atol=2e-3)
    assert strengths["0.25"]["psnr"] == pytest.approx(score(quarter, clean)["psnr"], abs=1e-6)
    assert "| max | whole_tile |" in result.markdown


def test_without_the_sample_the_check_says_so(context):
    result = rs_haze_pair.rs_haze_sample(context)
    assert result.data == {} and "skipped" in result.markdown
