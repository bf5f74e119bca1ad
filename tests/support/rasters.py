"""Write small GeoTIFF fixtures with GDAL."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from osgeo import gdal, osr

gdal.UseExceptions()

DEFAULT_GEOTRANSFORM = (600000.0, 10.0, 0.0, 4500000.0, 0.0, -10.0)


def make_raster(path: str | os.PathLike[str], array: np.ndarray, dtype: Any = None,
                nodata: float | None = None, epsg: int | None = 32618,
                geotransform: tuple[float, ...] = DEFAULT_GEOTRANSFORM,
                descriptions: tuple[str, ...] | None = None, options: tuple[str, ...] = ()) -> Path:
    """Write ``array`` (C, H, W) or (H, W) as a GeoTIFF; ``epsg=None`` leaves it without a CRS."""
    from osgeo import gdal_array

    array = np.asarray(array)
    if array.ndim == 2:
        array = array[None]
    if dtype is not None:
        array = array.astype(dtype)
    bands, rows, cols = array.shape
    gdal_type = gdal_array.NumericTypeCodeToGDALTypeCode(array.dtype)
    ds = gdal.GetDriverByName("GTiff").Create(str(path), cols, rows, bands, gdal_type, list(options))
    ds.SetGeoTransform(geotransform)
    if epsg is not None:
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(epsg)
        ds.SetProjection(srs.ExportToWkt())
    for b in range(bands):
        band = ds.GetRasterBand(b + 1)
        if nodata is not None:
            band.SetNoDataValue(float(nodata))
        if descriptions:
            band.SetDescription(descriptions[b])
        band.WriteArray(array[b])
    ds.FlushCache()
    ds = None
    return Path(path)


def read_raster(path: str | os.PathLike[str]) -> np.ndarray:
    """The (C, H, W) array of a raster."""
    ds = gdal.Open(str(path))
    return ds.ReadAsArray().reshape(ds.RasterCount, ds.RasterYSize, ds.RasterXSize)
