from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal

from backend.errors import InputRasterError, OutputRasterError
from backend.raster_io import RasterReader, RasterWriter, creation_options, same_grid
from tests.support.rasters import make_raster


def test_reader_reflects_outside_the_raster(tmp_path: Path) -> None:
    data = np.arange(30, dtype=np.int16).reshape(1, 5, 6)
    reader = RasterReader(make_raster(tmp_path / "a.tif", data))
    window = reader.read(-2, -1, 9, 8)
    rows = [2, 1, 0, 1, 2, 3, 4, 3, 2]
    cols = [1, 0, 1, 2, 3, 4, 5, 4]
    assert np.array_equal(window[0], data[0][np.ix_(rows, cols)])


def test_invalid_needs_every_band_nodata(tmp_path: Path) -> None:
    data = np.ones((2, 2, 2), np.uint8)
    data[:, 0, 0] = 0
    data[0, 1, 1] = 0
    reader = RasterReader(make_raster(tmp_path / "a.tif", data, nodata=0))
    assert reader.invalid(reader.read(0, 0, 2, 2)).tolist() == [[True, False], [False, False]]


def test_nan_is_invalid_for_float(tmp_path: Path) -> None:
    data = np.ones((1, 2, 2), np.float32)
    data[0, 0, 1] = np.nan
    reader = RasterReader(make_raster(tmp_path / "a.tif", data))
    assert reader.invalid(reader.read(0, 0, 2, 2)).tolist() == [[False, True], [False, False]]


def test_sample_uses_overviews_of_big_rasters(tmp_path: Path) -> None:
    path = make_raster(tmp_path / "big.tif", np.full((1, 2100, 2100), 7, np.uint8), options=("TILED=YES",))
    ds = gdal.Open(str(path), gdal.GA_Update)
    ds.BuildOverviews("NEAREST", [4])
    ds = None
    sample = RasterReader(path).sample()
    assert sample.shape == (1, 525 * 525) and (sample == 7).all()


def test_bad_band_index(tmp_path: Path) -> None:
    with pytest.raises(InputRasterError, match="band"):
        RasterReader(make_raster(tmp_path / "a.tif", np.zeros((2, 3, 3), np.uint8)), bands=[3])


def test_same_grid(tmp_path: Path) -> None:
    a = RasterReader(make_raster(tmp_path / "a.tif", np.zeros((1, 3, 3), np.uint8))).grid
    b = RasterReader(make_raster(tmp_path / "b.tif", np.zeros((1, 3, 3), np.uint8), epsg=4326)).grid
    assert same_grid(a, a) and not same_grid(a, b)


def test_writer_aborts_without_leftovers_and_refuses_missing_folder(tmp_path: Path) -> None:
    grid = RasterReader(make_raster(tmp_path / "a.tif", np.zeros((1, 3, 3), np.uint8))).grid
    writer = RasterWriter(tmp_path / "out.tif", grid, 1, np.uint8)
    writer.write(0, 0, np.ones((1, 3, 3), np.uint8))
    writer.abort()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tif"]
    with pytest.raises(OutputRasterError, match="does not exist"):
        RasterWriter(tmp_path / "no" / "out.tif", grid, 1, np.uint8)


def test_creation_options_are_tiled_and_compressed() -> None:
    options = creation_options(np.uint16)
    assert "TILED=YES" in options and "PREDICTOR=2" in options and "BIGTIFF=IF_SAFER" in options
    assert "PREDICTOR=3" in creation_options(np.float32)
