"""A 4-band model: its true-colour bands beside the RGB default, and the real thin-cloud scene."""

from __future__ import annotations

import numpy as np
import pytest

from training.data.scenes import BGRN
from training.evaluate import score
from training.evaluation import EngineModel, multispectral
from training.evaluation.base import CheckContext

from .conftest import export_tiny, tiny_regions


@pytest.fixture(scope="module")
def bgrn_model(tmp_path_factory) -> EngineModel:
    return EngineModel("dehaze", export_tiny(tmp_path_factory.mktemp("bgrn"), BGRN))


def test_an_rgb_model_has_no_multispectral_check(context):
    assert not multispectral.applies(context.model.bands)
    assert multispectral.multispectral_bands(context).data == {}


def test_true_colour_bands_are_scored_beside_the_rgb_default(bgrn_model, tmp_path):
    regions = tiny_regions(bands=BGRN)
    ctx = CheckContext("dehaze", bgrn_model, regions, tmp_path / "no-data", tmp_path)
    result = multispectral.multispectral_bands(ctx)
    assert result.data["rgb_model"] == "dehaze-hsmr-lite"
    means = result.data["true_colour_mean"]
    assert multispectral.RGB_METHOD in means and bgrn_model.method in means
    # the degraded input's true-colour bands: red, green, blue of the blue, green, red, NIR region
    expected = np.mean([score(np.clip(d.inputs["optical"][[2, 1, 0]], 0, 1), d.target[[2, 1, 0]])["psnr"]
                        for _, d in regions])  # fmt: skip
    assert means["degraded input"]["psnr"] == pytest.approx(expected)
    assert not {"landsat8_l1_cloudy", "rs_haze_true_colour"} & set(result.data)  # no data here


@pytest.mark.slow
def test_the_thin_cloud_scene_runs_in_the_models_bands(bgrn_model, shared_data, tmp_path):
    ctx = CheckContext("dehaze", bgrn_model, (), shared_data, tmp_path)
    out = multispectral.thin_cloud_scene(ctx, EngineModel("dehaze"), tmp_path)
    assert out["black_level"] == 5000.0 and out["size"] == [603, 627]
    assert set(out["chroma"]) >= {"degraded input", multispectral.RGB_METHOD}
    assert set(out["nir"]) >= {"degraded input", bgrn_model.method}
    assert (tmp_path / "dehaze_real_multispectral.png").is_file()
