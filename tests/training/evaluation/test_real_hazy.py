"""Real hazy scenes: the colour measures, the skip for other bands, and a real photo end to end."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from training.evaluate import INPUT_METHOD
from training.evaluation import real_hazy


def test_chroma_reads_ratios_dark_objects_and_crushed_pixels():
    image = np.ones((3, 10, 10), np.float32) * np.array([0.5, 1.0, 1.5], np.float32)[:, None, None]
    image[:, 0, 0] = (0.1, 0.2, 0.3)  # the darkest 1 %: one pixel
    image[2, 9, 9] = 0.0  # a band clipped to black
    valid = np.ones((10, 10), bool)
    out = real_hazy.chroma(image, valid, unit=2.0)
    assert out["dark_rgb"] == [0.05, 0.1, 0.15]
    assert out["crushed"] == 0.01
    assert out["r_over_g"] == pytest.approx(0.5, abs=0.01) and out["b_over_g"] == pytest.approx(1.5, abs=0.02)
    # invalid pixels count nowhere
    valid[0, 0] = valid[9, 9] = False
    assert real_hazy.chroma(image, valid, unit=2.0)["crushed"] == 0.0


def test_chroma_summary_measures_the_shift_against_the_input():
    per_image = {f"i{k}": {"chroma": {
        INPUT_METHOD: {"r_over_g": 1.0, "b_over_g": 1.0, "dark_rgb": [0.3, 0.3, 0.3], "crushed": 0.0},
        "model": {"r_over_g": 1.1, "b_over_g": 0.8, "dark_rgb": [0.1, 0.1, 0.1], "crushed": 0.02}}}
        for k in range(2)}  # fmt: skip
    out = real_hazy.chroma_summary(per_image)
    assert out[INPUT_METHOD]["shift_vs_hazy"] == 0.0
    assert out["model"]["shift_vs_hazy"] == pytest.approx(0.3) and out["model"]["crushed"] == 0.02


def test_a_model_of_other_bands_skips_the_rgb_scenes(context):
    model = context.model
    other = type("FourBands", (), {"bands": ("blue", "green", "red", "nir"), "method": model.method})()
    result = real_hazy.real_hazy_scenes(dataclasses.replace(context, model=other))
    assert result.data == {} and "skipped" in result.markdown


@pytest.mark.slow
def test_an_aerial_photo_runs_tiled_and_whole_through_the_engine(context, shared_data, tmp_path):
    ctx = dataclasses.replace(context, data_root=shared_data, limit=1)
    result = real_hazy.aerial(ctx, tmp_path)
    assert result["images"] == 1 and result["tile_size"] == real_hazy.AERIAL_TILE
    (name, image), = result["per_image"].items()
    assert name + ".jpg" in real_hazy.AERIAL_FIGURE
    assert set(image["chroma"]) == {INPUT_METHOD, "dark channel prior + guided filter", ctx.model.method}
    assert 0 <= image["seams_small_tiles_vs_single"]["max_abs"] < 0.05  # the tiny net: a 2-layer field
    assert (ctx.out_dir / "dehaze_real_aerial.png").is_file()
