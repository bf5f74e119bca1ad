"""derain_fuse's classical baselines and its two-table evaluation through the engine."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backend import registry
from tests.backend.conftest import write_index
from tests.support import tiny_models
from training.baselines.rain_fusion import (
    laplacian_pyramid,
    laplacian_pyramid_fusion,
    median_guided_derain,
    reconstruct,
    weighted_average_fusion,
)
from training.evaluate import NITEDR_PAPER, evaluate_stages
from training.synthesis.base import Degradation

RNG = np.random.default_rng(0)


def test_the_laplacian_pyramid_reconstructs_exactly_and_fuses_the_stronger_detail():
    x = RNG.random((37, 50))
    assert np.allclose(reconstruct(laplacian_pyramid(x, 4)), x)
    visible = np.full((3, 32, 32), 0.5, np.float32)
    infrared = np.full((1, 32, 32), 0.5, np.float32)
    infrared[0, 16, 16] = 1.0  # a hot spot only the infrared sees
    fused = laplacian_pyramid_fusion(visible, infrared)
    assert fused[:, 16, 16].min() > 0.9 and abs(float(fused[:, 0, 0].mean()) - 0.5) < 0.02


def test_the_weighted_average_keeps_the_visible_colour():
    visible = RNG.random((3, 8, 8)).astype(np.float32) * 0.5 + 0.25
    infrared = RNG.random((1, 8, 8)).astype(np.float32)
    assert np.allclose(weighted_average_fusion(visible, infrared, weight=0.0), visible, atol=1e-6)
    fused = weighted_average_fusion(visible, infrared)
    y = 0.299 * fused[0] + 0.587 * fused[1] + 0.114 * fused[2]
    y_vis = 0.299 * visible[0] + 0.587 * visible[1] + 0.114 * visible[2]
    assert np.allclose(y, np.clip(0.5 * y_vis + 0.5 * infrared[0], 0, 1), atol=1e-5)


def test_the_median_derainer_removes_a_thin_streak():
    image = np.full((3, 40, 40), 0.2, np.float32)
    image[:, :, 20] = 0.9  # a one-pixel rain streak
    derained = median_guided_derain(image)
    assert np.abs(derained - 0.2).max() < 0.05


def test_the_staged_evaluation_writes_both_tables(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "shipped_models_dir", lambda: tmp_path / "none")
    folder = tmp_path / "models"
    folder.mkdir()
    tiny_models.derain_stage_model(folder / "derain.onnx", factor=1.0, name="id-derain")
    tiny_models.fuse_model(folder / "fuse.onnx", name="avg-fuse", stage="fuse")
    write_index(folder, [{"file": "derain.onnx", "task": "derain_fuse", "name": "id-derain", "default": True},
                         {"file": "fuse.onnx", "task": "derain_fuse", "name": "avg-fuse", "default": True}])
    monkeypatch.setenv("RESTORE_MODELS_PATH", str(folder))
    clean = RNG.random((3, 48, 56)).astype(np.float32) * 0.5
    rainy = np.clip(clean + (RNG.random((3, 48, 56)) < 0.02) * 0.5, 0, 1).astype(np.float32)
    infrared = RNG.random((1, 48, 56)).astype(np.float32)
    items = [("pair_1", Degradation(inputs={"optical": rainy, "infrared": infrared}, target=clean))]
    report = evaluate_stages("derain_fuse", None, items, tmp_path / "eval", figures=False, progress=False)
    data = json.loads((tmp_path / "eval" / "derain_fuse.json").read_text())
    assert data["stage_models"] == {"derain": "id-derain", "fuse": "avg-fuse"}
    derained = data["derain"]["id-derain (DERAINED)"]
    # The identity de-rainer gives the input back exactly: the same scores as the input row.
    assert derained["psnr"] == pytest.approx(data["derain"]["degraded input"]["psnr"], abs=1e-4)
    # The averaging fuser is the weighted average in grey: the same fusion metrics, up to colour rounding.
    ours = data["fusion"]["id-derain -> avg-fuse (OUTPUT)"]
    assert ours["cc"] == pytest.approx(data["fusion"]["weighted average (Y)"]["cc"], abs=0.02)
    assert "| NiteDR (paper" in report.markdown and f"{NITEDR_PAPER['psnr']:.2f}" in report.markdown
    assert "Table 1" in report.markdown and "Table 2" in report.markdown
