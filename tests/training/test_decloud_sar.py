"""The Sentinel-1 + Sentinel-2 decloud variant end to end with random weights: no SAR data is at
hand to train it, so this is what shows the path works (export, ONNX Runtime equals PyTorch, the
engine picks it when a SAR raster is given and resamples that raster onto the optical grid)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from backend.errors import InputRasterError
from backend.package import sha256_file
from backend.pipeline import RestoreJob, restore
from tests.support.rasters import make_raster
from training.archs import build_arch
from training.checkpoint import save_checkpoint
from training.export import export_checkpoint
from training.model import RestorationModel
from training.specs import get_spec

SMALL = {"features": 8, "blocks": 2, "attention_blocks": [1]}


def _export(tmp_path: Path, variant: str, seed: int) -> Path:
    spec = get_spec("decloud", variant=variant)
    torch.manual_seed(seed)
    net, cfg = build_arch("aca_crnet", SMALL, in_channels=spec.in_channels, out_channels=spec.out_channels)
    model = RestorationModel(net, spec).eval()
    ckpt = tmp_path / f"{variant}.pt"
    save_checkpoint(ckpt, spec=spec, train_config=spec.lite, arch_config=cfg, model=model, step=1,
                    best_psnr=float("nan"))  # fmt: skip
    report = export_checkpoint(ckpt, tmp_path / f"decloud-{variant}.onnx")
    assert report.max_abs_diff < 1e-4  # ONNX Runtime vs PyTorch on random input
    return report.path


@pytest.fixture()
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A 13-band model (the default) and the SAR model of the same task in one model folder."""
    folder = tmp_path / "models"
    folder.mkdir()
    files = [_export(folder, "s2", 0), _export(folder, "s2_sar", 1)]
    entries = [{"file": p.name, "task": "decloud", "name": p.stem, "version": "0.0.1",
                "sha256": sha256_file(p), "default": i == 0} for i, p in enumerate(files)]  # fmt: skip
    (folder / "index.json").write_text(json.dumps({"models": entries}))
    monkeypatch.setenv("RESTORE_MODELS_PATH", str(folder))
    return folder


def test_the_sar_card_declares_vv_vh_first_in_db(installed: Path) -> None:
    from backend.package import read_card

    card = read_card(installed / "decloud-s2_sar.onnx")
    assert [s.role for s in card.inputs] == ["sar", "optical"]
    sar = card.inputs[0]
    assert sar.bands == ("vv", "vh") and sar.normalization.mode == "fixed"
    assert sar.normalization.scale * -25.0 + sar.normalization.offset == pytest.approx(0.0)
    assert len(card.outputs[0].bands) == 13


def test_a_sar_raster_picks_the_sar_model_and_is_resampled_onto_the_optical_grid(installed, tmp_path):
    rng = np.random.default_rng(0)
    optical = make_raster(tmp_path / "s2.tif", rng.integers(500, 3000, (13, 40, 36)).astype(np.uint16))
    # SAR on a coarser grid over the same footprint (20 m), in dB.
    sar = make_raster(tmp_path / "s1.tif", rng.uniform(-25, -5, (2, 20, 18)).astype(np.float32),
                      geotransform=(500000.0, 20.0, 0.0, 4000000.0, 0.0, -20.0))
    both = {"optical": str(optical), "sar": str(sar)}
    with pytest.raises(InputRasterError, match="not on the pixel grid"):
        restore(RestoreJob("decloud", both, str(tmp_path / "x.tif")))
    out = tmp_path / "with_sar.tif"
    result = restore(RestoreJob("decloud", both, str(out), resample=True))
    assert result.model == "decloud-s2_sar"
    without = restore(RestoreJob("decloud", {"optical": str(optical)}, str(tmp_path / "plain.tif")))
    assert without.model == "decloud-s2"
    from osgeo import gdal

    ds = gdal.Open(str(out))
    assert (ds.RasterCount, ds.RasterXSize, ds.RasterYSize) == (13, 36, 40)
    assert ds.GetGeoTransform() == gdal.Open(str(optical)).GetGeoTransform()
    assert np.isfinite(ds.ReadAsArray().astype(np.float64)).all()


def test_the_sar_variant_cannot_be_trained_here_and_says_why() -> None:
    from training.data.recipes import get_recipe

    with pytest.raises(KeyError, match="SEN12MS-CR"):
        get_recipe(get_spec("decloud", variant="s2_sar").data)
