"""GDAL's FillNodata (inverse-distance interpolation from the gap edges), band by band.

The same algorithm as ``gdal_fillnodata`` and QGIS "Fill nodata": a user's in-QGIS alternative.
Pixels farther than ``max_distance`` from valid data stay empty in GDAL; they get the band mean
here so every method returns a complete image.
"""

from __future__ import annotations

import numpy as np
from osgeo import gdal

gdal.UseExceptions()


def gdal_fill_nodata(image: np.ndarray, *, max_distance: float = 100.0, smoothing: int = 0) -> np.ndarray:
    """Fill the NaN pixels of ``image`` (C, H, W) with ``gdal.FillNodata``."""
    bands, height, width = image.shape
    out = np.empty((bands, height, width), dtype=np.float32)
    driver = gdal.GetDriverByName("MEM")
    for b in range(bands):
        data = image[b].astype(np.float32)
        valid = np.isfinite(data)
        dataset = driver.Create("", width, height, 1, gdal.GDT_Float32)
        band = dataset.GetRasterBand(1)
        band.WriteArray(np.where(valid, data, 0.0))
        mask_ds = driver.Create("", width, height, 1, gdal.GDT_Byte)
        mask_band = mask_ds.GetRasterBand(1)
        mask_band.WriteArray(valid.astype(np.uint8))
        gdal.FillNodata(band, mask_band, max_distance, smoothing)
        filled = band.ReadAsArray()
        # FillNodata leaves pixels beyond max_distance untouched: find them by filling a band of
        # ones the same way (reached gaps become 1, unreached ones stay 0).
        marker = driver.Create("", width, height, 1, gdal.GDT_Float32)
        marker_band = marker.GetRasterBand(1)
        marker_band.WriteArray(valid.astype(np.float32))
        gdal.FillNodata(marker_band, mask_band, max_distance, 0)
        reached = marker_band.ReadAsArray() > 0
        mean = float(data[valid].mean()) if valid.any() else 0.0
        out[b] = np.where(reached, filled, mean)
    return out
