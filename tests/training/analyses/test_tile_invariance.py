"""The tile-invariance analysis: its two crops of the real scene, and the shipped model on them."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.analyses import ANALYSES, tile_invariance
from training.evaluation import EngineModel

MODEL = Path(__file__).resolve().parents[3] / "resources" / "models" / "dehaze-hsmr-lite.onnx"


def test_the_two_crops_have_no_fill_and_much_fill(shared_data):
    crops = tile_invariance.crops(shared_data)
    fills = [float((~(c > 0).all(0)).mean()) for c in crops.values()]
    assert all(c.shape == (3, tile_invariance.SIZE, tile_invariance.SIZE) for c in crops.values())
    assert fills[0] == 0.0 and 0.35 < fills[1] < 0.5


@pytest.mark.slow
def test_the_shipped_model_is_tile_invariant_on_the_filled_crop(shared_data, tmp_path):
    crop = list(tile_invariance.crops(shared_data).values())[1]
    result = tile_invariance.tile_invariance(EngineModel("dehaze", MODEL), crop, tmp_path)
    assert 0.35 < result["fill"] < 0.5
    assert result["max_abs"] < 0.01 and result["mean_abs"] < 0.001, result


def test_the_command_is_registered_and_needs_a_model():
    main, text = ANALYSES["tile_invariance"]
    assert "single-tile" in text
    with pytest.raises(SystemExit):
        main([])
