"""Checks on variants of the held-out regions: what each feeds, and that the scores are of it."""

from __future__ import annotations

import numpy as np
import pytest

from training.evaluate import INPUT_METHOD, score
from training.evaluation import held_out
from training.metrics import colour_cast
from training.synthesis.band_gain import draw_band_gains

DCP = "dark channel prior + guided filter"


def test_clear_feeds_the_clean_region_and_leaves_the_input_out(context):
    result = held_out.clear(context)
    assert result.name == "clear" and result.data["regions"] == 2
    assert set(result.data["means"]) == {DCP, context.model.method}
    clean = context.regions[0][1].target
    restored = context.model(clean)
    first = result.data["per_region"][0]["scores"][context.model.method]
    assert first["psnr"] == pytest.approx(score(restored, clean)["psnr"], abs=1e-6)
    assert {"psnr", "ssim", "cast", "crushed"} <= set(first)
    assert "### The same regions without the degradation (2 regions)" in result.markdown


def test_band_gain_scales_input_and_reference_alike_with_a_fixed_draw(context):
    result = held_out.band_gain(context)
    for n, (row, (_, deg)) in enumerate(zip(result.data["per_region"], context.regions, strict=True)):
        gains = draw_band_gains(np.random.default_rng([0, n, 7]), 3)
        assert row["gains"] == [round(float(g), 3) for g in gains[:, 0, 0]] and max(row["gains"]) == 1.0
        hazy, clean = deg.inputs["optical"] * gains, deg.target * gains
        assert row["scores"][INPUT_METHOD]["cast"] == pytest.approx(colour_cast(np.clip(hazy, 0, 1), clean))
    assert held_out.band_gain(context).data == result.data  # the same draw every time


def test_rs_recipe_hazes_the_clean_regions_by_the_other_recipe(context):
    result = held_out.rs_recipe(context)
    first = held_out.other_recipe(context.regions[0][1].target, 0, context.data_root, context.model.bands)
    expected = score(first.inputs["optical"], first.target)["psnr"]
    assert result.data["per_region"][0]["scores"][INPUT_METHOD]["psnr"] == pytest.approx(expected)
    # another haze than the training synthesis's over the same ground
    deg = context.regions[0][1]
    assert expected != pytest.approx(score(deg.inputs["optical"], deg.target)["psnr"])


def test_the_figure_shows_each_method_and_the_reference(context):
    result = held_out.held_out_figure(context)
    (path,) = result.figures
    assert path.name == "dehaze_synthetic.png" and path.stat().st_size > 1000
