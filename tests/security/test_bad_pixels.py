"""Issue 24, items 2 and 7: a bad pixel or a broken model never gives silent garbage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal

from backend.cli import main
from backend.errors import InputRasterError, InvalidOptionError, ModelCardError, RestoreError
from backend.package import validate_package
from backend.pipeline import RestoreJob, restore
from tests.security.hostile import card_with_json, nan_model
from tests.support import tiny_models
from tests.support.rasters import make_raster, read_raster


def test_a_nan_in_one_band_stays_one_nodata_pixel(tmp_path: Path, models: dict[str, Path]) -> None:
    data = np.random.default_rng(0).random((3, 96, 96), dtype=np.float32)
    data[1, 40, 50] = np.nan
    data[2, 10, 10] = np.inf
    make_raster(tmp_path / "in.tif", data)
    restore(RestoreJob("dehaze", {"optical": tmp_path / "in.tif"}, tmp_path / "out.tif", model=models["conv"],
                       device="cpu", tile_size=32, overlap=8))
    out = read_raster(tmp_path / "out.tif")
    bad = ~np.isfinite(out)
    assert bad[:, 40, 50].all() and bad[:, 10, 10].all()  # the pixel is nodata in every band
    assert bad.sum() == 2 * 3  # and nothing else: the 3x3 convolution did not spread it


def test_a_model_that_outputs_nan_is_an_error_not_a_black_raster(tmp_path: Path) -> None:
    model = nan_model(tmp_path / "nan.onnx")
    make_raster(tmp_path / "in.tif", np.full((3, 20, 20), 1, np.uint8))
    out = tmp_path / "out.tif"
    with pytest.raises(RestoreError, match="NaN or infinite"):
        restore(RestoreJob("dehaze", {"optical": tmp_path / "in.tif"}, out, model=model, device="cpu"))
    assert not out.exists() and not list(tmp_path.glob(".*part*"))


@pytest.mark.parametrize("edit", [
    lambda c: c["inputs"][0]["normalization"].update(range=[0, float("inf")]),
    lambda c: c["inputs"][0]["normalization"].update(scale=float("nan")),
    lambda c: c["inputs"][0]["normalization"].update(offset="1"),
])
def test_a_card_with_non_finite_numbers_fails_validate(tmp_path: Path, models: dict[str, Path], edit) -> None:
    bad = card_with_json(models["identity"], tmp_path / "bad.onnx", edit)
    with pytest.raises(ModelCardError, match="finite"):
        validate_package(bad)
    assert main(["validate", str(bad)]) == 1


def test_a_negative_black_level_is_refused(tmp_path: Path, models: dict[str, Path],
                                           capsys: pytest.CaptureFixture) -> None:
    make_raster(tmp_path / "in.tif", np.full((3, 8, 8), 100, np.uint16))
    with pytest.raises(InvalidOptionError, match="black level must be 0 or more"):
        restore(RestoreJob("dehaze", {"optical": tmp_path / "in.tif"}, tmp_path / "out.tif",
                           model=models["identity"], black_level=-500))
    assert main(["restore", "--task", "dehaze", "--model", str(models["identity"]), "--black-level", "-5",
                 str(tmp_path / "in.tif"), str(tmp_path / "out.tif")]) == 1
    assert "black level" in capsys.readouterr().err and not (tmp_path / "out.tif").exists()


def test_int16_with_negative_values_is_refused_by_a_scale_model(tmp_path: Path) -> None:
    scale = tiny_models.Normalization(mode="scale", high=99.0)
    model = tiny_models.identity_model(tmp_path / "scale.onnx", normalization=scale)
    data = np.random.default_rng(0).normal(0, 1000, (3, 64, 64)).astype(np.int16)
    make_raster(tmp_path / "in.tif", data)
    with pytest.raises(InputRasterError, match="below 0"):
        restore(RestoreJob("dehaze", {"optical": tmp_path / "in.tif"}, tmp_path / "out.tif", model=model))
    # Values all above zero, or a stretch model, are fine.
    make_raster(tmp_path / "pos.tif", np.abs(data))
    restore(RestoreJob("dehaze", {"optical": tmp_path / "pos.tif"}, tmp_path / "pos_out.tif", model=model))
    stretch = tiny_models.identity_model(tmp_path / "stretch.onnx",
                                         normalization=tiny_models.Normalization(mode="percentile"))
    restore(RestoreJob("dehaze", {"optical": tmp_path / "in.tif"}, tmp_path / "out.tif", model=stretch))
    assert np.array_equal(read_raster(tmp_path / "out.tif"), data)


def test_a_complex_raster_is_refused_clearly(tmp_path: Path, models: dict[str, Path],
                                             capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "complex.tif"
    gdal.GetDriverByName("GTiff").Create(str(path), 8, 8, 3, gdal.GDT_CFloat32).FlushCache()
    assert main(["restore", "--task", "dehaze", "--model", str(models["identity"]), str(path),
                 str(tmp_path / "out.tif")]) == 1
    err = capsys.readouterr().err
    assert "complex values (CFloat32)" in err and "internal error" not in err


def test_float64_beyond_float32_is_blamed_on_the_raster_not_the_model(tmp_path: Path,
                                                                       models: dict[str, Path]) -> None:
    data = np.random.default_rng(0).random((3, 16, 16)) * 1e300
    make_raster(tmp_path / "in.tif", data)
    with pytest.raises(RestoreError, match="do not fit the model's float32 input"):
        restore(RestoreJob("dehaze", {"optical": tmp_path / "in.tif"}, tmp_path / "out.tif",
                           model=models["conv"]))
    assert not (tmp_path / "out.tif").exists()
