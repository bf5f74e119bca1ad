"""End-to-end behaviour of ``restore()`` with tiny exact models."""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from osgeo import gdal, osr

from backend import registry
from backend.errors import (
    CancelledError,
    DeviceError,
    InputRasterError,
    InvalidOptionError,
    ModelIntegrityError,
    OutputRasterError,
    UnknownTaskError,
)
from backend.model_card import Normalization, TileSpec
from backend.pipeline import RestoreJob, restore
from tests.backend.conftest import write_index
from tests.support import tiny_models
from tests.support.rasters import make_raster, read_raster

RNG = np.random.default_rng(42)
PERCENTILE = Normalization(mode="percentile", low=1.0, high=99.0)


def random_raster(bands: int, height: int, width: int, dtype: type) -> np.ndarray:
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return RNG.integers(info.min, int(info.max) + 1, size=(bands, height, width)).astype(dtype)
    return RNG.normal(100.0, 50.0, size=(bands, height, width)).astype(dtype)


def files_in(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


# -- identity: exact reproduction -----------------------------------------------------------------

IDENTITY_CASES = [
    # bands, height, width, dtype, tile, overlap, normalisation
    (3, 1, 1, np.uint8, 64, 8, Normalization(scale=1 / 255)),
    (3, 1001, 777, np.uint16, 128, 16, PERCENTILE),
    (1, 37, 53, np.float32, 16, 4, Normalization()),
    (13, 45, 61, np.uint16, 32, 0, Normalization(scale=1 / 10000)),
    (3, 2, 300, np.uint8, 24, 8, Normalization(scale=1 / 255)),
    (3, 129, 64, np.float32, 64, 24, Normalization()),
]


@pytest.mark.parametrize("bands, height, width, dtype, tile, overlap, norm", IDENTITY_CASES)
def test_identity_reproduces_input_exactly(tmp_path: Path, bands: int, height: int, width: int, dtype: type,
                                           tile: int, overlap: int, norm: Normalization) -> None:
    model = tiny_models.identity_model(tmp_path / "id.onnx", bands=bands, normalization=norm,
                                       tile=TileSpec(multiple=8, default_size=64, overlap=8))
    data = random_raster(bands, height, width, dtype)
    make_raster(tmp_path / "in.tif", data)
    result = restore(RestoreJob("dehaze", {"optical": tmp_path / "in.tif"}, tmp_path / "out.tif", model=model,
                                tile_size=tile, overlap=overlap, batch_size=3))
    out = read_raster(result.output)
    assert out.dtype == data.dtype
    assert np.array_equal(out, data)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(height=st.integers(1, 90), width=st.integers(1, 90), tile=st.sampled_from([8, 16, 24, 40]),
       overlap_frac=st.floats(0.0, 0.49), bands=st.sampled_from([1, 2, 3, 4]),
       dtype=st.sampled_from([np.uint8, np.uint16, np.float32]))
def test_identity_exact_for_any_tiling(tmp_path: Path, height: int, width: int, tile: int,
                                       overlap_frac: float, bands: int, dtype: type) -> None:
    model = tmp_path / f"id{bands}.onnx"
    if not model.exists():
        tiny_models.identity_model(model, bands=bands)
    data = random_raster(bands, height, width, dtype)
    make_raster(tmp_path / "in.tif", data)
    restore(RestoreJob("dehaze", {"optical": tmp_path / "in.tif"}, tmp_path / "out.tif", model=model,
                       tile_size=tile, overlap=int(overlap_frac * tile)))
    assert np.array_equal(read_raster(tmp_path / "out.tif"), data)


# -- seams --------------------------------------------------------------------------------------


def test_convolution_tiled_equals_whole_image(tmp_path: Path) -> None:
    model = tiny_models.conv3x3_model(tmp_path / "conv.onnx", layers=3,
                                      tile=TileSpec(multiple=8, default_size=64, overlap=16,
                                                    receptive_field=7))
    data = RNG.random((3, 301, 257)).astype(np.float32)
    make_raster(tmp_path / "in.tif", data)
    result = restore(RestoreJob("dehaze", {"optical": tmp_path / "in.tif"}, tmp_path / "out.tif",
                                model=model))
    assert result.tiles > 20
    tiled = read_raster(result.output)
    session = ort.InferenceSession(str(model))
    halo = 16
    padded = np.pad(data, ((0, 0), (halo, halo), (halo, halo)), mode="reflect")
    whole = session.run(None, {"optical": padded[None]})[0][0][:, halo:-halo, halo:-halo]
    assert np.abs(tiled - whole).max() < 1e-4


# -- nodata, georeferencing, metadata ---------------------------------------------------------------


def test_nodata_georeferencing_and_metadata_preserved(tmp_path: Path, models: dict[str, Path]) -> None:
    data = random_raster(3, 150, 170, np.uint16)
    data[data == 0] = 1
    data[:, 10:30, 40:90] = 0
    data[:, :, :70] = 0  # whole tiles of nodata get skipped
    gt = (345000.5, 30.0, 0.0, 4100000.25, 0.0, -30.0)
    make_raster(tmp_path / "in.tif", data, nodata=0, epsg=32616, geotransform=gt)
    result = restore(RestoreJob("dehaze", {"optical": tmp_path / "in.tif"}, tmp_path / "out.tif",
                                model=models["identity"], tile_size=32, overlap=8))
    assert result.skipped_tiles > 0
    ds = gdal.Open(str(result.output))
    src = gdal.Open(str(tmp_path / "in.tif"))
    assert ds.GetGeoTransform() == gt
    assert ds.GetProjection() == src.GetProjection() and "PROJCS" in ds.GetProjection()
    assert osr.SpatialReference(wkt=ds.GetProjection()).IsSame(osr.SpatialReference(wkt=src.GetProjection()))
    assert [ds.GetRasterBand(b).GetDescription() for b in (1, 2, 3)] == ["red", "green", "blue"]
    assert ds.GetRasterBand(1).GetNoDataValue() == 0
    meta = ds.GetMetadata()
    assert meta["RESTORE_PROVIDER"] == "CPUExecutionProvider" == result.provider
    assert meta["RESTORE_MODEL"] == "test-identity" and meta["RESTORE_TASK"] == "dehaze"
    assert meta["RESTORE_DEVICE"] == "auto"
    structure = ds.GetMetadata("IMAGE_STRUCTURE")
    assert structure["COMPRESSION"] in ("ZSTD", "DEFLATE")
    assert ds.GetRasterBand(1).GetBlockSize() == [256, 256]
    assert np.array_equal(read_raster(result.output), data)


def test_model_without_mask_sees_the_raster_median_at_nodata(tmp_path: Path) -> None:
    # 70 % of the raster is 3000 (its median), 30 % is 1000 (the 1st percentile), with a nodata hole
    # inside the bright part. A box mean next to the hole stays 3000 only if nodata is fed as the
    # median: fed as the range minimum, it would pull the ground beside every nodata edge to black.
    model = tiny_models.box_mean_model(tmp_path / "box.onnx", normalization=PERCENTILE)
    data = np.full((3, 100, 100), 3000, dtype=np.uint16)
    data[:, :, :30] = 1000
    data[:, 40:60, 50:70] = 0
    make_raster(tmp_path / "in.tif", data, nodata=0)
    result = restore(RestoreJob("dehaze", {"optical": tmp_path / "in.tif"}, tmp_path / "out.tif", model=model,
                                tile_size=32, overlap=8))
    out = read_raster(result.output)
    assert (out[:, 40:60, 50:70] == 0).all()  # nodata stays nodata
    ring = np.zeros((100, 100), bool)
    ring[38:62, 48:72] = True
    ring[40:60, 50:70] = False
    assert np.array_equal(out[:, ring], data[:, ring])


@pytest.mark.parametrize("tile_size", [32, 64])
def test_every_tile_gets_the_whole_rasters_scene_context(tmp_path: Path, tile_size: int) -> None:
    # The model writes the context's 1st (or 50th) percentile of each band everywhere, so the output
    # is the context the engine fed: the whole raster's valid pixels, in raster units after the
    # inverse map, the same in every tile; tiles of one corner alone would see other values.
    data = np.maximum(random_raster(3, 90, 70, np.uint16), 1)
    data[:, :20, :30] = 0
    make_raster(tmp_path / "in.tif", data, nodata=0)
    valid = (data != 0).all(axis=0)
    for which, percentile in enumerate((1.0, 50.0)):
        model = tiny_models.scene_context_model(tmp_path / f"context{which}.onnx", which=which,
                                                normalization=PERCENTILE)
        result = restore(RestoreJob("dehaze", {"optical": tmp_path / "in.tif"},
                                    tmp_path / f"out{which}_{tile_size}.tif", model=model,
                                    tile_size=tile_size, overlap=8, float_output=True))
        out = read_raster(result.output)
        expected = np.percentile(data[:, valid].astype(np.float64), percentile, axis=1)
        assert (out[:, ~valid] == 0).all()  # nodata stays nodata
        for band in range(3):
            assert np.allclose(out[band, valid], expected[band], rtol=0, atol=0.05), (percentile, band)


def test_float_output_and_band_selection(tmp_path: Path, models: dict[str, Path]) -> None:
    data = random_raster(5, 40, 50, np.uint16)
    make_raster(tmp_path / "in.tif", data)
    result = restore(RestoreJob("dehaze", {"optical": tmp_path / "in.tif"}, tmp_path / "out.tif",
                                model=models["identity"], bands=[4, 2, 1], float_output=True))
    out = read_raster(result.output)
    assert out.dtype == np.float32
    assert np.array_equal(out, data[[3, 1, 0]].astype(np.float32))


# -- strength: blending the model's change with the input -----------------------------------------


def test_strength_keeps_that_share_of_the_models_change(tmp_path: Path) -> None:
    model = tiny_models.conv3x3_model(tmp_path / "conv.onnx", normalization=PERCENTILE)
    data = random_raster(3, 70, 90, np.uint16)
    make_raster(tmp_path / "in.tif", data)

    def run(strength: float, float_output: bool) -> np.ndarray:
        out = tmp_path / f"out_{strength}_{float_output}.tif"
        restore(RestoreJob("dehaze", {"optical": tmp_path / "in.tif"}, out, model=model, strength=strength,
                           float_output=float_output, tile_size=32, overlap=8))
        return read_raster(out).astype(np.float64)

    # Strength 0 gives the input back exactly, through normalisation and the inverse map.
    assert np.array_equal(run(0.0, False), data.astype(np.float64))
    full, none, third = run(1.0, True), run(0.0, True), run(1 / 3, True)
    assert np.abs(full - none).max() > 100  # the model really changes the raster
    expected = none + (full - none) / 3
    assert np.abs(third - expected).max() < 1e-3 * np.abs(full - none).max()


def test_strength_is_refused_out_of_range_and_for_gap_filling(tmp_path: Path, rgb: Path,
                                                              models: dict[str, Path]) -> None:
    for bad in (-0.1, 1.5):
        with pytest.raises(InvalidOptionError, match="strength must be between 0 and 1"):
            restore(RestoreJob("dehaze", {"optical": rgb}, tmp_path / "o.tif", model=models["identity"],
                               strength=bad))
    with pytest.raises(InvalidOptionError, match="takes no strength"):
        restore(RestoreJob("fill_gaps", {"optical": rgb}, tmp_path / "o.tif", model=models["fill"],
                           strength=0.5))
    assert files_in(tmp_path) <= {rgb.name}


def test_a_result_equal_to_nodata_is_written_one_step_inward_not_as_a_hole(tmp_path: Path) -> None:
    # Half the valid pixels are 4, half 6: the median the model writes everywhere is 5, the nodata
    # value. Written as is, every valid pixel would read back as nodata.
    data = np.where(np.indices((40, 40)).sum(axis=0) % 2 == 0, 4, 6).astype(np.uint16)
    data = np.repeat(data[None], 3, axis=0)
    data[:, :10, :10] = 5
    valid = (data != 5).all(axis=0)
    assert np.median(data[0, valid]) == 5
    make_raster(tmp_path / "in.tif", data, nodata=5)
    model = tiny_models.scene_context_model(tmp_path / "median.onnx", which=1)
    result = restore(RestoreJob("dehaze", {"optical": tmp_path / "in.tif"}, tmp_path / "out.tif",
                                model=model))
    dataset = gdal.Open(str(result.output))
    assert dataset.GetRasterBand(1).GetNoDataValue() == 5
    out = dataset.ReadAsArray()
    assert (out[:, ~valid] == 5).all()  # nodata stays nodata
    assert (out[:, valid] == 6).all()  # the result, 5, one step inward: no valid pixel is lost


@pytest.mark.parametrize("nodata, dtype, expected", [
    (0, np.uint16, 1), (65535, np.uint16, 65534), (-9999, np.int16, -9998), (255, np.uint8, 254),
    (None, np.uint8, None), (float("nan"), np.float32, None), (-1, np.uint8, None),
])
def test_the_stand_in_for_a_result_equal_to_nodata(nodata, dtype, expected) -> None:
    from backend.engine import nodata_stand_in

    assert nodata_stand_in(nodata, np.dtype(dtype)) == expected
    zero = nodata_stand_in(0.0, np.dtype(np.float32))
    assert zero > 0 and np.float32(zero) != 0  # the next float32 up
    assert -9999.0 < nodata_stand_in(-9999.0, np.dtype(np.float32)) < -9998.999


SCALE = Normalization(mode="scale", high=99.5, per_band=False, range=(0.0, 0.8))


def test_a_black_level_is_taken_off_before_the_model_and_added_back(tmp_path: Path) -> None:
    # For a model that reads values from zero up ('scale'), restoring a raster with black level b is
    # restoring the raster minus b, plus b: the offset is neither stretched nor fed as if it were haze.
    level = 5000.0
    data = (level + RNG.integers(0, 4000, size=(3, 70, 90))).astype(np.float32)
    make_raster(tmp_path / "in.tif", data)
    make_raster(tmp_path / "minus.tif", data - level)
    models = {"conv": tiny_models.conv3x3_model(tmp_path / "conv.onnx", normalization=SCALE),
              "context": tiny_models.scene_context_model(tmp_path / "context.onnx", normalization=SCALE)}

    def run(kind: str, source: str, name: str, **options: float) -> np.ndarray:
        result = restore(RestoreJob("dehaze", {"optical": tmp_path / source}, tmp_path / f"{kind}_{name}.tif",
                                    model=models[kind], tile_size=32, overlap=8, float_output=True,
                                    **options))
        return read_raster(result.output).astype(np.float64)

    for kind in models:
        anchored = run(kind, "in.tif", "anchored", black_level=level)
        np.testing.assert_allclose(anchored, run(kind, "minus.tif", "minus") + level, rtol=0, atol=0.02)
    # Without it the convolution sees other values (its bias is scaled by another gain); the context
    # model only writes what it was fed, back in raster units, which a black level does not move.
    conv = read_raster(tmp_path / "conv_anchored.tif").astype(np.float64)
    assert np.abs(run("conv", "in.tif", "plain") - conv).max() > 10
    metadata = gdal.Open(str(tmp_path / "conv_anchored.tif")).GetMetadata()
    assert metadata["RESTORE_BLACK_LEVEL"] == "5000" and "RESTORE_BLACK_LEVEL" not in (
        gdal.Open(str(tmp_path / "conv_plain.tif")).GetMetadata())


def test_a_black_level_is_refused_where_it_cannot_apply(tmp_path: Path, rgb: Path) -> None:
    percentile = tiny_models.conv3x3_model(tmp_path / "p.onnx", normalization=PERCENTILE)
    with pytest.raises(InvalidOptionError, match=r"by 'percentile', not from zero up \('scale'\), so a"):
        restore(RestoreJob("dehaze", {"optical": rgb}, tmp_path / "o.tif", model=percentile, black_level=100))
    scale = tiny_models.conv3x3_model(tmp_path / "s.onnx", normalization=SCALE)
    with pytest.raises(InputRasterError, match=r"rgb.tif: black level 1e\+06 is not below the raster's "
                                               r"99.5th percentile"):
        restore(RestoreJob("dehaze", {"optical": rgb}, tmp_path / "o.tif", model=scale, black_level=1e6))
    with pytest.raises(InvalidOptionError, match="black level must be a number"):
        restore(RestoreJob("dehaze", {"optical": rgb}, tmp_path / "o.tif", model=scale,
                           black_level=float("nan")))
    assert files_in(tmp_path) <= {rgb.name, "p.onnx", "s.onnx"}


# -- several inputs -------------------------------------------------------------------------------


def test_fuse_two_inputs(tmp_path: Path, models: dict[str, Path]) -> None:
    vis = RNG.random((3, 70, 90)).astype(np.float32)
    ir = RNG.random((1, 70, 90)).astype(np.float32)
    make_raster(tmp_path / "vis.tif", vis)
    make_raster(tmp_path / "ir.tif", ir)
    result = restore(RestoreJob("derain_fuse",
                                {"optical": tmp_path / "vis.tif", "infrared": tmp_path / "ir.tif"},
                                tmp_path / "out.tif", model=models["fuse"]))
    assert np.allclose(read_raster(result.output), (vis + ir) / 2, atol=1e-6)


def test_inputs_on_different_grids_error_or_resample(tmp_path: Path, models: dict[str, Path]) -> None:
    vis = RNG.random((3, 60, 80)).astype(np.float32)
    make_raster(tmp_path / "vis.tif", vis)
    shifted = (600000.0 + 20.0, 10.0, 0.0, 4500000.0, 0.0, -10.0)
    make_raster(tmp_path / "ir.tif", np.ones((1, 60, 80), np.float32), geotransform=shifted)
    inputs = {"optical": tmp_path / "vis.tif", "infrared": tmp_path / "ir.tif"}
    with pytest.raises(InputRasterError, match="ir.tif.*not on the pixel grid.*have it resampled") as error:
        restore(RestoreJob("derain_fuse", inputs, tmp_path / "out.tif", model=models["fuse"]))
    assert error.value.options == ("resample",)
    assert not (tmp_path / "out.tif").exists()
    result = restore(RestoreJob("derain_fuse", inputs, tmp_path / "out.tif", model=models["fuse"],
                                resample=True))
    out = read_raster(result.output)
    # Where the shifted infrared covers the grid it is 1; the first 2 columns fall outside it (0).
    assert np.allclose(out[:, :, 3:], (vis[:, :, 3:] + 1) / 2, atol=1e-6)


def test_optional_sar_input(tmp_path: Path, models: dict[str, Path]) -> None:
    opt = RNG.random((3, 40, 40)).astype(np.float32)
    sar = RNG.random((2, 40, 40)).astype(np.float32)
    make_raster(tmp_path / "opt.tif", opt)
    make_raster(tmp_path / "sar.tif", sar)
    alone = restore(RestoreJob("decloud", {"optical": tmp_path / "opt.tif"}, tmp_path / "a.tif",
                               model=models["sar"]))
    assert np.array_equal(read_raster(alone.output), opt)
    both = restore(RestoreJob("decloud", {"optical": tmp_path / "opt.tif", "sar": tmp_path / "sar.tif"},
                              tmp_path / "b.tif", model=models["sar"]))
    assert np.allclose(read_raster(both.output), opt + 0.25 * sar.mean(axis=0), atol=1e-6)


# -- gap filling ----------------------------------------------------------------------------------


def test_fill_gaps_fills_nodata_and_writes_the_mask(tmp_path: Path, models: dict[str, Path]) -> None:
    data = RNG.random((3, 80, 100)).astype(np.float32) + 1.0
    data[:, 20:24, :] = -999.0  # scan-line gaps
    make_raster(tmp_path / "in.tif", data, nodata=-999.0)
    result = restore(RestoreJob("fill_gaps", {"optical": tmp_path / "in.tif"}, tmp_path / "out.tif",
                                model=models["fill"], mask_output=tmp_path / "mask.tif"))
    out = read_raster(result.output)
    mask = read_raster(result.mask_output)[0]
    assert mask.dtype == np.uint8
    assert mask[20:24].all() and mask.sum() == 4 * 100
    assert np.allclose(out[:, 20:24], 0.5)  # the tiny model fills with 0.5
    keep = mask == 0
    assert np.array_equal(out[:, keep], data[:, keep])


def test_fill_gaps_with_explicit_mask(tmp_path: Path, models: dict[str, Path]) -> None:
    data = RNG.random((3, 50, 50)).astype(np.float32)
    holes = np.zeros((1, 50, 50), np.uint8)
    holes[0, 5:9, 10:40] = 1
    make_raster(tmp_path / "in.tif", data)
    make_raster(tmp_path / "mask.tif", holes)
    result = restore(RestoreJob("fill_gaps", {"optical": tmp_path / "in.tif", "mask": tmp_path / "mask.tif"},
                                tmp_path / "out.tif", model=models["fill"]))
    out = read_raster(result.output)
    assert np.allclose(out[:, holes[0] == 1], 0.5)
    assert np.array_equal(out[:, holes[0] == 0], data[:, holes[0] == 0])


def test_fill_gaps_feeds_validity_planes_and_a_resampled_reference(tmp_path: Path) -> None:
    model = tiny_models.reference_fill_model(tmp_path / "ref.onnx")
    data = RNG.random((3, 40, 48)).astype(np.float32) + 1.0
    data[:, 10:13, :] = -999.0  # the target's gaps
    make_raster(tmp_path / "in.tif", data, nodata=-999.0)
    # The reference date on a grid twice as fine, with gaps of its own over columns 0-7.
    fine = np.full((3, 80, 96), 3.0, np.float32)
    fine[:, :, :16] = -1.0
    half_pixels = (600000.0, 5.0, 0.0, 4500000.0, 0.0, -5.0)
    make_raster(tmp_path / "ref.tif", fine, nodata=-1.0, geotransform=half_pixels)
    job = RestoreJob("fill_gaps", {"optical": tmp_path / "in.tif", "reference": tmp_path / "ref.tif"},
                     tmp_path / "out.tif", model=model, mask_output=tmp_path / "mask.tif")
    with pytest.raises(InputRasterError, match="not on the pixel grid"):
        restore(job)
    result = restore(dataclasses.replace(job, resample=True))
    out, mask = read_raster(result.output), read_raster(result.mask_output)[0]
    assert mask[10:13].all() and mask.sum() == 3 * 48
    keep = mask == 0
    assert np.array_equal(out[:, keep], data[:, keep])  # nodata declared: the mask is known
    assert np.allclose(out[:, 10:13, 9:], 3.0)  # the reference where it is valid
    assert np.allclose(out[:, 10:13, :7], 0.5)  # neither: the fill
    alone = restore(RestoreJob("fill_gaps", {"optical": tmp_path / "in.tif"}, tmp_path / "alone.tif",
                               model=model))
    assert np.allclose(read_raster(alone.output)[:, 10:13], 0.5)  # absent reference: zeros, valid 0


def test_fill_gaps_without_nodata_or_mask_leaves_the_mask_to_the_model(tmp_path: Path) -> None:
    model = tiny_models.reference_fill_model(tmp_path / "ref.onnx")
    data = RNG.random((3, 30, 30)).astype(np.float32) + 1.0
    make_raster(tmp_path / "in.tif", data)  # stripes written as values, no nodata: mask unknown
    out = read_raster(restore(RestoreJob("fill_gaps", {"optical": tmp_path / "in.tif"}, tmp_path / "o.tif",
                                         model=model)).output)
    assert np.allclose(out, data + 0.125)
    holes = np.zeros((1, 30, 30), np.uint8)
    holes[0, 4:6] = 1
    make_raster(tmp_path / "mask.tif", holes)
    out = read_raster(restore(RestoreJob("fill_gaps", {"optical": tmp_path / "in.tif",
                                                       "mask": tmp_path / "mask.tif"},
                                         tmp_path / "m.tif", model=model)).output)
    assert np.array_equal(out[:, 6:], data[:, 6:]) and np.allclose(out[:, 4:6], 0.5)  # a MASK: known


# -- progress and cancel --------------------------------------------------------------------------


def test_progress_reaches_one_and_cancel_leaves_nothing(tmp_path: Path, models: dict[str, Path]) -> None:
    make_raster(tmp_path / "in.tif", random_raster(3, 200, 200, np.uint8))
    seen: list[float] = []
    restore(RestoreJob("dehaze", {"optical": tmp_path / "in.tif"}, tmp_path / "done.tif",
                       model=models["identity"], tile_size=32, overlap=8, batch_size=4), progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 5
    before = files_in(tmp_path)
    calls = iter(range(1000))
    with pytest.raises(CancelledError):
        restore(RestoreJob("dehaze", {"optical": tmp_path / "in.tif"}, tmp_path / "cancelled.tif",
                           model=models["identity"], tile_size=32, overlap=8, batch_size=2),
                cancel=lambda: next(calls) >= 3)
    assert files_in(tmp_path) == before


def test_a_failure_in_the_writer_thread_stops_the_run_and_leaves_nothing(
    tmp_path: Path, models: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blending and writing run on the writer thread: its errors must reach the caller."""
    from backend import engine

    make_raster(tmp_path / "in.tif", random_raster(3, 200, 200, np.uint8))
    before = files_in(tmp_path)
    written = iter(range(1000))
    real_write = engine.CellSink.write

    def failing_write(self, cell, data):
        if next(written) >= 3:
            raise OSError("disk full")
        real_write(self, cell, data)

    monkeypatch.setattr(engine.CellSink, "write", failing_write)
    with pytest.raises(OSError, match="disk full"):
        restore(RestoreJob("dehaze", {"optical": tmp_path / "in.tif"}, tmp_path / "out.tif",
                           model=models["identity"], tile_size=32, overlap=8, batch_size=2))
    assert files_in(tmp_path) == before


# -- bad input gets a clear error -------------------------------------------------------------------


@pytest.fixture()
def rgb(tmp_path: Path) -> Path:
    return make_raster(tmp_path / "rgb.tif", random_raster(3, 20, 20, np.uint8))


def test_missing_file(tmp_path: Path, models: dict[str, Path]) -> None:
    with pytest.raises(InputRasterError, match="nope.tif does not exist"):
        restore(RestoreJob("dehaze", {"optical": tmp_path / "nope.tif"}, tmp_path / "o.tif",
                           model=models["identity"]))


def test_not_a_raster(tmp_path: Path, models: dict[str, Path]) -> None:
    (tmp_path / "notes.tif").write_text("hello")
    with pytest.raises(InputRasterError, match="notes.tif is not a raster"):
        restore(RestoreJob("dehaze", {"optical": tmp_path / "notes.tif"}, tmp_path / "o.tif",
                           model=models["identity"]))


def test_band_count_not_matching_the_card(tmp_path: Path, models: dict[str, Path]) -> None:
    make_raster(tmp_path / "two.tif", random_raster(2, 10, 10, np.uint8))
    with pytest.raises(InputRasterError, match="two.tif has 2 band.*expects 3"):
        restore(RestoreJob("dehaze", {"optical": tmp_path / "two.tif"}, tmp_path / "o.tif",
                           model=models["identity"]))
    assert not (tmp_path / "o.tif").exists()


def _install_rgb_and_four(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                          four_model: Callable[..., object]) -> None:
    """The only installed dehaze models: an RGB identity ("rgb", the default) and ``four_model``
    built with 4 bands ("four")."""
    folder = tmp_path / "models"
    folder.mkdir()
    tiny_models.identity_model(folder / "rgb.onnx", bands=3, name="rgb")
    four_model(folder / "four.onnx", bands=4, name="four")
    write_index(folder, [{"file": "rgb.onnx", "task": "dehaze", "name": "rgb", "default": True},
                         {"file": "four.onnx", "task": "dehaze", "name": "four", "default": False}])
    monkeypatch.setenv(registry.ENV_VAR, str(folder))
    monkeypatch.setattr(registry, "shipped_models_dir", lambda: tmp_path / "no-shipped-models")


def test_an_alpha_band_does_not_steer_the_model_choice_unless_named(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An RGBA photo is three bands of image: it is matched with the RGB model, and the band-count
    error names the alpha band. Named in --bands, the band is data (GDAL flags the 4th band of any
    default 4-band Byte GeoTIFF as alpha, an RGBN one too)."""
    _install_rgb_and_four(tmp_path, monkeypatch, tiny_models.identity_model)
    path = make_raster(tmp_path / "rgba.tif", random_raster(4, 10, 10, np.uint8), options=("ALPHA=YES",))
    expected = r"rgba.tif has 4 band.*'rgb' expects 3.*flagged as alpha.*; pick the bands to restore$"
    with pytest.raises(InputRasterError, match=expected) as error:
        restore(RestoreJob("dehaze", {"optical": path}, tmp_path / "o.tif"))
    assert error.value.options == ("bands",)
    assert not (tmp_path / "o.tif").exists()
    rgb = restore(RestoreJob("dehaze", {"optical": path}, tmp_path / "o3.tif", bands=[1, 2, 3]))
    assert rgb.model == "rgb"
    np.testing.assert_array_equal(read_raster(rgb.output), read_raster(path)[:3])
    assert restore(RestoreJob("dehaze", {"optical": path}, tmp_path / "o4.tif",
                              bands=[1, 2, 3, 4])).model == "four"


def test_the_default_model_is_the_one_for_the_rasters_band_count(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _install_rgb_and_four(tmp_path, monkeypatch, tiny_models.conv3x3_model)
    data = random_raster(4, 20, 20, np.uint16)
    four = make_raster(tmp_path / "bgrn.tif", data)
    logged: list[str] = []
    restore(RestoreJob("dehaze", {"optical": four}, tmp_path / "o4.tif"), log=logged.append)
    assert gdal.Open(str(tmp_path / "o4.tif")).GetMetadataItem("RESTORE_MODEL") == "four"
    assert any("model four (bands " in line for line in logged)
    restore(RestoreJob("dehaze", {"optical": four}, tmp_path / "o3.tif", bands=[3, 2, 1]))
    assert gdal.Open(str(tmp_path / "o3.tif")).GetMetadataItem("RESTORE_MODEL") == "rgb"
    np.testing.assert_array_equal(read_raster(tmp_path / "o3.tif"), data[[2, 1, 0]])


def test_corrupt_model(tmp_path: Path, rgb: Path) -> None:
    (tmp_path / "broken.onnx").write_bytes(b"not an onnx file at all")
    with pytest.raises(ModelIntegrityError, match="broken.onnx"):
        restore(RestoreJob("dehaze", {"optical": rgb}, tmp_path / "o.tif", model=tmp_path / "broken.onnx"))


def test_checksum_mismatch(tmp_path: Path, rgb: Path, models: dict[str, Path],
                           monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(models["identity"], folder / "id.onnx")
    write_index(folder, [{"file": "id.onnx", "task": "dehaze", "name": "id", "sha256": "0" * 64}])
    monkeypatch.setenv(registry.ENV_VAR, str(folder))
    monkeypatch.setattr(registry, "shipped_models_dir", lambda: tmp_path / "no-shipped-models")
    with pytest.raises(ModelIntegrityError, match="sha256"):
        restore(RestoreJob("dehaze", {"optical": rgb}, tmp_path / "o.tif"))
    with pytest.raises(ModelIntegrityError):
        restore(RestoreJob("dehaze", {"optical": rgb}, tmp_path / "o.tif", model=folder / "id.onnx"))


def test_unknown_task(tmp_path: Path, rgb: Path) -> None:
    with pytest.raises(UnknownTaskError, match="sharpen.*dehaze"):
        restore(RestoreJob("sharpen", {"optical": rgb}, tmp_path / "o.tif"))


def test_output_equal_to_input_is_refused(rgb: Path, models: dict[str, Path]) -> None:
    before = rgb.read_bytes()
    relative = Path(os.path.relpath(rgb))
    with pytest.raises(OutputRasterError, match="is the optical input"):
        restore(RestoreJob("dehaze", {"optical": rgb}, relative, model=models["identity"]))
    assert rgb.read_bytes() == before


def test_roles_checked(tmp_path: Path, rgb: Path, models: dict[str, Path]) -> None:
    with pytest.raises(InputRasterError, match="needs an input raster for the 'infrared' role"):
        restore(RestoreJob("derain_fuse", {"optical": rgb}, tmp_path / "o.tif", model=models["fuse"]))
    with pytest.raises(InputRasterError, match="does not take a 'sar'"):
        restore(RestoreJob("dehaze", {"optical": rgb, "sar": rgb}, tmp_path / "o.tif",
                           model=models["identity"]))


def test_bad_options(tmp_path: Path, rgb: Path, models: dict[str, Path]) -> None:
    with pytest.raises(InvalidOptionError, match="overlap"):
        restore(RestoreJob("dehaze", {"optical": rgb}, tmp_path / "o.tif", model=models["identity"],
                           tile_size=16, overlap=8))
    with pytest.raises(InvalidOptionError, match="threads"):
        restore(RestoreJob("dehaze", {"optical": rgb}, tmp_path / "o.tif", model=models["identity"],
                           threads=0))
    assert not (tmp_path / "o.tif").exists()
    if "CUDAExecutionProvider" in ort.get_available_providers():
        return
    with pytest.raises(DeviceError, match="onnxruntime-gpu"):
        restore(RestoreJob("dehaze", {"optical": rgb}, tmp_path / "o.tif", model=models["identity"],
                           device="cuda"))
    assert not (tmp_path / "o.tif").exists()


def test_output_keeps_the_inputs_colour_interpretation_and_band_names(tmp_path: Path) -> None:
    model = tiny_models.identity_model(tmp_path / "id.onnx", bands=3)
    source = make_raster(tmp_path / "in.tif", random_raster(3, 20, 24, np.uint16))
    ds = gdal.Open(str(source), gdal.GA_Update)
    colours = (gdal.GCI_RedBand, gdal.GCI_GreenBand, gdal.GCI_BlueBand)
    for b, (name, colour) in enumerate(zip(("B4", "B3", "B2"), colours, strict=True), 1):
        ds.GetRasterBand(b).SetDescription(name)
        ds.GetRasterBand(b).SetColorInterpretation(colour)
    ds = None
    result = restore(RestoreJob("dehaze", {"optical": source}, tmp_path / "out.tif", model=model))
    out = gdal.Open(str(result.output))
    bands = [out.GetRasterBand(b) for b in (1, 2, 3)]
    assert [b.GetDescription() for b in bands] == ["B4", "B3", "B2"]
    assert [b.GetColorInterpretation() for b in bands] == list(colours)
    assert not (tmp_path / "out.tif.aux.xml").exists()
