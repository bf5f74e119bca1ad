"""The shipped dehaze model package and sample: valid, indexed as the default, and it dehazes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from backend.package import read_card, sha256_file, validate_package
from training.archs.hsmr import MULTIPLE

REPO_ROOT = Path(__file__).resolve().parents[2]
MODELS = REPO_ROOT / "resources" / "models"
MODEL = MODELS / "dehaze-hsmr-lite.onnx"
SAMPLE = REPO_ROOT / "resources" / "samples" / "sentinel2_hazy_rgb.tif"


def test_shipped_model_is_a_valid_small_dehaze_package():
    card = validate_package(MODEL)
    assert card.task == "dehaze"
    assert card.architecture.startswith("HSMR-Net")
    assert [s.bands for s in card.inputs] == [("red", "green", "blue")]
    assert card.inputs[0].normalization.mode == "scale"
    assert card.tile.multiple == MULTIPLE
    assert card.parameters and card.parameters > 100_000
    assert MODEL.stat().st_size < 20e6


def test_index_lists_it_as_the_dehaze_default_with_its_checksum():
    entries = json.loads((MODELS / "index.json").read_text())["models"]
    mine = [e for e in entries if e["file"] == MODEL.name]
    assert len(mine) == 1
    assert mine[0]["task"] == "dehaze" and mine[0]["default"] is True
    assert mine[0]["sha256"] == sha256_file(MODEL)
    assert [e["file"] for e in entries if e["task"] == "dehaze" and e.get("default")] == [MODEL.name]


def test_card_reports_measured_metrics():
    metrics = read_card(MODEL).metrics
    for test_set in ("synthetic_test", "rs_haze_max"):
        assert {"hazy", "dcp", "hsmr"} <= set(metrics[test_set])


def test_model_removes_synthetic_haze_from_a_held_out_region(shared_data):
    """A held-out test block, hazed as the evaluation draws it, restored through the engine: at least
    6 dB better than the input (docs/MODELS.md)."""
    from training.data.recipes import evaluation_regions
    from training.evaluation import EngineModel
    from training.metrics import psnr
    from training.specs import get_spec

    name, deg = next((n, d) for n, d in evaluation_regions(get_spec("dehaze"), shared_data)
                     if n == "sentinel2_virginia_y768_x512")  # fmt: skip
    hazy, clean = deg.inputs["optical"], deg.target
    restored = np.clip(EngineModel("dehaze", MODEL)(hazy), 0, 1)
    assert restored.shape == hazy.shape
    assert psnr(restored, clean) > psnr(hazy, clean) + 6.0


def test_scale_normalization_keeps_the_haze_floor():
    """The dehaze input keeps its distance from zero: a hazy floor stays visible to the network."""
    from backend.model_card import Normalization
    from backend.normalization import compute_stats, denormalize, normalize

    norm = Normalization(mode="scale", high=99.5, range=(0.0, 0.8))
    clean = np.random.default_rng(0).uniform(0, 8000, (3, 40, 40))
    hazy = clean * 0.5 + 4000  # same stretch, different floor
    for image in (clean, hazy):
        stats = compute_stats(image, norm)
        assert stats.low == (0.0, 0.0, 0.0)
        x = normalize(image, norm, stats)
        assert np.allclose(denormalize(x, norm, stats, norm.range, np.float64), image, rtol=1e-5)
    floor = [normalize(i, norm, compute_stats(i, norm)).min() for i in (clean, hazy)]
    assert floor[0] < 0.01 and floor[1] > 0.3


def test_sample_is_a_small_georeferenced_uint16_rgb():
    from osgeo import gdal

    dataset = gdal.Open(str(SAMPLE))
    assert (dataset.RasterXSize, dataset.RasterYSize, dataset.RasterCount) == (768, 768, 3)
    assert dataset.GetRasterBand(1).DataType == gdal.GDT_UInt16
    assert "UTM zone 18N" in dataset.GetProjection()
    assert [dataset.GetRasterBand(i).GetDescription() for i in (1, 2, 3)] == ["red", "green", "blue"]
    assert SAMPLE.stat().st_size < 3e6


@pytest.mark.slow
def test_restore_runs_the_default_model_on_the_sample(tmp_path):
    from osgeo import gdal

    from backend.pipeline import RestoreJob, restore

    out = tmp_path / "clear.tif"
    result = restore(RestoreJob("dehaze", {"optical": str(SAMPLE)}, str(out), device="cpu"))
    assert result.model == "dehaze-hsmr-lite"
    restored = gdal.Open(str(out)).ReadAsArray().astype(np.float64)
    hazy = gdal.Open(str(SAMPLE)).ReadAsArray().astype(np.float64)
    assert restored.shape == hazy.shape
    # Dehazing spreads the values the haze compressed: more contrast, not less.
    assert restored.std() > 1.2 * hazy.std()


@pytest.mark.slow
def test_default_tiling_matches_a_single_tile_on_the_sample(tmp_path):
    """No seams: the card's tiling gives what one tile over the whole sample gives (docs/MODELS.md)."""
    from training.evaluate import restore_file, single_tile_size, tile_dependence

    single = single_tile_size(read_card(MODEL).tile, 768, 768)
    tiled, tiles = restore_file("dehaze", MODEL, {"optical": SAMPLE}, tmp_path / "tiled.tif", device="cpu")
    whole, one = restore_file("dehaze", MODEL, {"optical": SAMPLE}, tmp_path / "whole.tif", tile_size=single,
                              device="cpu")
    assert tiles > 1 and one == 1
    lo, hi = np.percentile(whole, [0.5, 99.5])
    diff = tile_dependence(tiled, whole, (lo, hi))
    assert diff["p99_abs"] < 0.01 and diff["mean_abs"] < 0.002, diff


def _script(name: str):
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _save(path, net, config, spec, args) -> None:
    """A checkpoint as the train script's loop writes it (weights, spec, command line)."""
    from training.checkpoint import save_checkpoint
    from training.config import TrainConfig
    from training.model import RestorationModel

    save_checkpoint(path, spec=spec, train_config=TrainConfig(), arch_config=config,
                    model=RestorationModel(net, spec), step=10, best_psnr=float("nan"),
                    args={k: str(v) for k, v in vars(args).items()})  # fmt: skip


def test_a_checkpoint_with_a_scene_context_exports_and_runs_through_the_engine(tmp_path):
    # Training script spec -> export script package -> engine: the context percentiles travel in the
    # card, the engine computes them over the raster, and the graph's second input receives them.
    import argparse
    import dataclasses

    import torch

    from backend.normalization import compute_stats, context_vector, denormalize, normalize
    from backend.pipeline import RestoreJob, restore
    from tests.support.rasters import make_raster, read_raster
    from training.archs.hsmr import HSMRConfig, HSMRNet

    train, export = _script("train_dehaze_hsmr"), _script("export_dehaze_hsmr")
    torch.manual_seed(0)
    config = dataclasses.replace(HSMRConfig.lite(attention_window=15), context_features=6)
    model = HSMRNet(config)
    torch.nn.init.normal_(model.head[1].weight, std=0.02)
    torch.nn.init.normal_(model.scene.mlp[2].weight, std=0.1)
    args = argparse.Namespace(minutes=1.0, threads=1, lr=1e-4, scene_context=[1.0, 50.0], region=384,
                              batch=8, crop=128)
    checkpoint = tmp_path / "best.pt"
    _save(checkpoint, model, config, train.dehaze_spec((1.0, 50.0)), args)
    package = tmp_path / "dehaze-context.onnx"
    assert export.main([str(checkpoint), "--out", str(package), "--tile-size", "64", "--overlap", "16"]) == 0

    card = validate_package(package)
    assert card.inputs[0].context.percentiles == (1.0, 50.0)
    assert "--scene-context 1.0 50.0 --region 384" in card.training_recipe
    data = np.random.default_rng(0).integers(500, 9000, size=(3, 80, 80)).astype(np.uint16)
    make_raster(tmp_path / "in.tif", data)
    # One tile that is exactly the raster (no halo, no padding): the engine feeds what torch sees.
    restore(RestoreJob("dehaze", {"optical": tmp_path / "in.tif"}, tmp_path / "out.tif", model=package,
                       tile_size=80, overlap=0))
    engine = read_raster(tmp_path / "out.tif").astype(np.int64)

    def by_torch(context: np.ndarray | None = None) -> np.ndarray:
        norm = card.inputs[0].normalization
        stats = compute_stats(data, norm, context=card.inputs[0].context)
        x = torch.from_numpy(normalize(data, norm, stats)[None])
        vector = context_vector(norm, stats, 3) if context is None else context
        with torch.no_grad():
            y = model.eval()(x, torch.from_numpy(vector[None]))[0].numpy()
        return denormalize(y, norm, stats, card.outputs[0].range, np.uint16).astype(np.int64)

    assert np.abs(engine - by_torch()).max() <= 2  # the engine fed the raster's context
    assert np.abs(engine - by_torch(np.zeros(6, np.float32))).max() > 50  # and it matters


def test_a_multispectral_checkpoint_exports_with_its_bands_and_is_picked_for_a_4_band_raster(
        tmp_path, monkeypatch):
    import argparse
    import dataclasses

    from backend import registry
    from backend.pipeline import RestoreJob, restore
    from tests.support.rasters import make_raster
    from training.archs.hsmr import HSMRConfig, HSMRNet
    from training.data.scenes import BGRN

    train, export = _script("train_dehaze_hsmr"), _script("export_dehaze_hsmr")
    config = dataclasses.replace(HSMRConfig.lite(attention_window=15), in_channels=4, out_channels=4)
    args = argparse.Namespace(minutes=1.0, threads=1, lr=1e-4, bands=list(BGRN), batch=8, crop=128)
    checkpoint = tmp_path / "best.pt"
    _save(checkpoint, HSMRNet(config), config, train.dehaze_spec(bands=BGRN), args)
    folder = tmp_path / "models"
    folder.mkdir()
    package = folder / "dehaze-bgrn.onnx"
    assert export.main([str(checkpoint), "--out", str(package), "--name", "dehaze-bgrn", "--index"]) == 0

    card = validate_package(package)
    assert card.inputs[0].bands == card.outputs[0].bands == BGRN
    assert "4-band rasters (blue, green, red, nir, in that order)" in card.description
    assert "--bands blue green red nir" in card.training_recipe
    # the only dehaze model of its index, so its default there; next to the shipped RGB default,
    # it runs for a 4-band raster and the RGB one for an RGB raster
    assert json.loads((folder / "index.json").read_text())["models"][0]["default"] is True
    monkeypatch.setenv(registry.ENV_VAR, str(folder))
    four = make_raster(tmp_path / "bgrn.tif", np.full((4, 24, 24), 900, np.uint16))
    assert restore(RestoreJob("dehaze", {"optical": four}, tmp_path / "o.tif",
                              device="cpu")).model == "dehaze-bgrn"
    rgb = make_raster(tmp_path / "rgb.tif", np.full((3, 24, 24), 900, np.uint16))
    assert restore(RestoreJob("dehaze", {"optical": rgb}, tmp_path / "o3.tif",
                              device="cpu")).model == "dehaze-hsmr-lite"


def test_the_train_script_trains_on_the_rs_haze_recipe_and_the_card_names_it(shared_data, tmp_path):
    # Two steps of the real script on the shared scenes with every sample by the RS-Haze recipe,
    # then the export: the flag reaches the card's recipe.
    train, export = _script("train_dehaze_hsmr"), _script("export_dehaze_hsmr")
    out = tmp_path / "run"
    assert train.main(["--data", str(shared_data), "--out", str(out), "--steps", "2", "--batch", "2",
                       "--crop", "64", "--val-every", "100", "--attention-window", "15",
                       "--rs-haze", "1.0"]) == 0  # fmt: skip
    _, _, data, _ = train.make_datasets(shared_data, 64, 4, 0, rs_haze=1.0)
    assert np.percentile(data[0]["input"].numpy(), 99.5) == pytest.approx(0.8, abs=0.01)  # engine-like
    package = tmp_path / "dehaze-rs.onnx"
    assert export.main([str(out / "best.pt"), "--out", str(package)]) == 0
    assert "--rs-haze 1.0" in validate_package(package).training_recipe
