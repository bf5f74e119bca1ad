"""The headroom analysis: the oracle fit separates global from local error, the scene offset learns
a global error, and the command runs on the RS-Haze tile through the engine."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from training.analyses import ANALYSES, headroom
from training.evaluation import EngineModel

MODEL = Path(__file__).resolve().parents[3] / "resources" / "models" / "dehaze-hsmr-lite.onnx"


def test_headroom_separates_a_global_error_from_a_local_one():
    # A uniform haze is a per-band affine map of the scene: the oracle fit takes all of it back, so
    # the hazy input's error is all "global"; noise is local and stays after the fit.
    rng = np.random.default_rng(0)
    clean = rng.random((3, 48, 48)).astype(np.float32)
    uniform_haze = 0.6 * clean + 0.35

    def noisy(x: np.ndarray) -> np.ndarray:
        return np.clip(x + rng.normal(0, 0.05, x.shape), 0, 1).astype(np.float32)

    out = headroom.headroom(noisy, [(uniform_haze, clean)])
    assert out["pairs"] == 1
    assert out["hazy"]["psnr"] < 15 and out["hazy"]["best_affine"] > 60
    assert out["model"]["best_affine"] < 30 < out["hazy"]["best_affine"]
    assert out["target"] == round(out["dcp"]["psnr"] + headroom.TARGET_MARGIN_DB, 2)


def test_a_scene_offset_learns_a_global_error_that_follows_the_rasters_statistics():
    # A "model" that darkens every raster by a tenth leaves an error per band that follows the
    # raster's own level: the offset, linear in the raster's percentiles, learns it on some rasters
    # and takes most of it off others.
    card = EngineModel("dehaze", MODEL).card

    class Darkening:
        input, output, bands = card.inputs[0], card.outputs[0], card.inputs[0].bands

        def __call__(self, hazy: np.ndarray) -> np.ndarray:
            return 0.9 * hazy

    offset = headroom.SceneOffset(Darkening())
    rng = np.random.default_rng(0)

    def raster() -> np.ndarray:
        level = rng.uniform(0.2, 0.8, (3, 1, 1))
        return np.clip(level + rng.normal(0, 0.1, (3, 32, 32)), 0, 1).astype(np.float32)

    train = [offset.sample(x, x) for x in (raster() for _ in range(60))]
    test = [offset.sample(x, x) for x in (raster() for _ in range(10))]
    offset.fit(train, penalty=1e-6)
    assert offset.score(test) > offset.score(test, with_offset=False) + 10


def test_the_last_stage_synthesis_draws_bluish_airlights_and_some_light_haze(tmp_path):
    # The lite-1.1.0 stage: airlight exponent beta in 0-2 (a grey airlight's blue/red ratio stays
    # within its 5 % tints, 0.91-1.09 over 200 draws; these reach 1.9) and about 15 % of the samples
    # with optical depth at most 0.2 (transmission everywhere above exp(-0.2)).
    synth = headroom.last_stage_synthesis(tmp_path, ("red", "green", "blue"))
    clean = {"optical": np.full((3, 32, 32), 0.3, np.float32)}
    rng = np.random.default_rng(0)
    draws = [synth(clean, rng) for _ in range(200)]
    airlights = np.array([d.info["airlight"] for d in draws])
    blue_over_red = airlights[:, 2] / airlights[:, 0]
    assert np.median(blue_over_red) > 1.2 and blue_over_red.max() > 1.6
    light = np.mean([d.info["transmission"].min() > np.exp(-0.2) - 1e-6 for d in draws])
    assert 0.08 < light < 0.3


def test_headroom_command_runs_on_the_rs_haze_tile(shared_data, tmp_path):
    main, _ = ANALYSES["headroom"]
    out = tmp_path / "headroom.json"
    assert main(["--data", str(shared_data), "--out", str(out), "--sets", "rs_haze_max"]) == 0
    result = json.loads(out.read_text())["sets"]
    assert list(result) == ["rs_haze_max"]
    for method in ("hazy", "dcp", "model"):  # the oracle fit never scores below the method itself
        assert result["rs_haze_max"][method]["best_affine"] >= result["rs_haze_max"][method]["psnr"]
    with pytest.raises(SystemExit):
        main(["--data", str(shared_data), "--out", str(out), "--sets", "no_such_set"])
