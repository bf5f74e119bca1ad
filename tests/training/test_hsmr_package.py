"""The shipped dehaze model package and sample: valid, indexed as the default, and it dehazes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from backend.package import read_card, sha256_file, validate_package
from training.archs.hsmr import MULTIPLE

from .helpers import save_planned

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
    hazy = deg.inputs["optical"]
    restored = np.clip(EngineModel("dehaze", MODEL)(hazy), 0, 1)
    assert restored.shape == hazy.shape
    assert psnr(restored, deg.target) > psnr(hazy, deg.target) + 6.0, name


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


def _checkpoint(path, stage, net=None) -> None:
    """A checkpoint of the dehaze spec changed by ``stage`` (a ``training.config.Stage``), as the
    training loop writes it; random weights unless ``net`` is given."""
    from training.chain import plan, stage_metadata
    from training.config import NamedConfig
    from training.specs import get_spec

    (planned,) = plan(get_spec("dehaze"), NamedConfig(stages=(stage,)))
    save_planned(path, planned, net=net, **stage_metadata("test", "", 1, [], None))


def test_a_checkpoint_with_a_scene_context_exports_and_runs_through_the_engine(tmp_path):
    # A config's scene context -> export -> engine: the context percentiles travel in the card, the
    # engine computes them over the raster, and the graph's second input receives them.
    import torch

    from backend.normalization import compute_stats, context_vector, denormalize, normalize
    from backend.pipeline import RestoreJob, restore
    from tests.support.rasters import make_raster, read_raster
    from training.archs import build_arch
    from training.archs.hsmr import HSMRNet
    from training.chain import plan
    from training.config import NamedConfig, Stage
    from training.export import export_checkpoint
    from training.specs import get_spec

    torch.manual_seed(0)
    stage = Stage(arch={"attention_window": 15}, scene_context=(1.0, 50.0), new_blocks=("scene.",))
    (planned,) = plan(get_spec("dehaze"), NamedConfig(stages=(stage,)))
    model, _ = build_arch("hsmr", planned.arch_config)
    assert isinstance(model, HSMRNet) and model.config.context_features == 6
    torch.nn.init.normal_(model.head[1].weight, std=0.02)
    torch.nn.init.normal_(model.scene.mlp[2].weight, std=0.1)
    checkpoint = tmp_path / "best.pt"
    _checkpoint(checkpoint, stage, model)
    package = tmp_path / "dehaze-context.onnx"
    export_checkpoint(checkpoint, package)

    card = validate_package(package)
    assert card.inputs[0].context.percentiles == (1.0, 50.0)
    assert card.inputs[0].context.name == "hazy_context"
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
    import subprocess
    import sys

    from backend import registry
    from backend.pipeline import RestoreJob, restore
    from tests.support.rasters import make_raster
    from training.config import Stage
    from training.data.scenes import BGRN
    from training.export import export_checkpoint

    checkpoint = tmp_path / "best.pt"
    _checkpoint(checkpoint, Stage(arch={"attention_window": 15}, bands=BGRN))
    folder = tmp_path / "models"
    folder.mkdir()
    package = folder / "dehaze-bgrn.onnx"
    export_checkpoint(checkpoint, package)
    subprocess.run([sys.executable, "-m", "scripts.update_model_index", "--dir", str(folder)], cwd=REPO_ROOT,
                   check=True, capture_output=True)  # fmt: skip

    card = validate_package(package)
    assert card.inputs[0].bands == card.outputs[0].bands == BGRN
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


def test_a_named_config_trains_on_the_rs_haze_recipe_and_the_card_names_it(shared_data, tmp_path):
    # Two steps of a one-stage config with every sample by the RS-Haze recipe, then the export: the
    # synthesis reaches the crops (engine-like normalisation) and the card's recipe.
    from training.chain import plan, run_config
    from training.config import NamedConfig, Stage
    from training.data.recipes import build_dataset
    from training.export import export_checkpoint
    from training.specs import get_spec

    config = NamedConfig(stages=(Stage(train={"steps": 2, "batch_size": 2, "crop": 64, "val_every": 100,
                                              "val_samples": 2},
                                       arch={"attention_window": 15}, synthesis={"rs_haze_share": 1.0}),))
    (stage,) = plan(get_spec("dehaze"), config)
    out = tmp_path / "run"
    run_config("rs-test", [stage], root=shared_data, out=out, progress=False)
    crops = build_dataset(stage.spec, shared_data, "train", crop=64, length=4, seed=0, train=True)
    assert np.percentile(crops[0]["input"].numpy(), 99.5) == pytest.approx(0.8, abs=0.01)
    package = tmp_path / "dehaze-rs.onnx"
    export_checkpoint(out / "best.pt", package)
    recipe = validate_package(package).training_recipe
    assert "--config rs-test" in recipe and '"rs_haze_share": 1.0' in recipe
