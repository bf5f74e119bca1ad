"""The engine on real imagery from ../shared/data (skipped when it is absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from osgeo import gdal

from backend.model_card import Normalization
from backend.pipeline import RestoreJob, restore
from tests.support import tiny_models
from tests.support.rasters import read_raster

STRETCH = Normalization(mode="percentile", low=1.0, high=99.0)


def test_identity_on_hazy_landsat8_uint16_is_exact(shared_data: Path, tmp_path: Path) -> None:
    source = next((shared_data / "remote_sensing" / "landsat8_l1_hazy_224078").glob("*.TIF"))
    model = tiny_models.identity_model(tmp_path / "id.onnx", bands=3, normalization=STRETCH)
    result = restore(RestoreJob("dehaze", {"optical": source}, tmp_path / "out.tif", model=model,
                                tile_size=256, overlap=32))
    assert np.array_equal(read_raster(result.output), read_raster(source))


def test_fill_gaps_on_landsat7_slc_off(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / "remote_sensing" / "landsat7_slcoff_3dates" / "LS7_ETM_095_082_20100116_B30.nc"
    model = tiny_models.mask_fill_model(tmp_path / "fill.onnx", bands=1, normalization=STRETCH)
    result = restore(RestoreJob("fill_gaps", {"optical": source}, tmp_path / "out.tif", model=model,
                                mask_output=tmp_path / "mask.tif", tile_size=256, overlap=32))
    data = read_raster(source)[0]
    out = read_raster(result.output)[0]
    mask = read_raster(result.mask_output)[0].astype(bool)
    gaps = data == -999
    assert 0.1 < gaps.mean() < 0.4  # the scan-line gaps
    assert np.array_equal(mask, gaps)
    assert np.array_equal(out[~gaps], data[~gaps])
    assert (out[gaps] != -999).all() and len(np.unique(out[gaps])) == 1  # filled with the model's constant
    src, dst = gdal.Open(str(source)), gdal.Open(str(result.output))
    assert dst.GetGeoTransform() == src.GetGeoTransform()
    # GeoTIFF keys cannot hold the source's no-op TOWGS84[0,0,0,0,0,0,0]; the CRS itself is the same.
    assert dst.GetSpatialRef().IsSame(src.GetSpatialRef())
    assert "Albers" in dst.GetProjection()
