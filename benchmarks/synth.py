"""Synthetic 3-band uint16 inputs, written strip by strip (never whole) as tiled compressed GeoTIFF."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from osgeo import gdal, osr

from backend.raster_io import creation_options

gdal.UseExceptions()
STRIP = 512


def write_input(path: Path, size: int, seed: int = 0) -> Path:
    """A ``size`` x ``size`` scene: smooth gradients and waves plus sensor-like noise (compresses ~2:1)."""
    ds = gdal.GetDriverByName("GTiff").Create(str(path), size, size, 3, gdal.GDT_UInt16,
                                              creation_options(np.uint16))
    ds.SetGeoTransform((500000.0, 10.0, 0.0, 4600000.0, 0.0, -10.0))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32618)
    ds.SetProjection(srs.ExportToWkt())
    rng = np.random.default_rng(seed)
    x = np.arange(size, dtype=np.float32)[None, :]
    for y0 in range(0, size, STRIP):
        rows = min(STRIP, size - y0)
        y = np.arange(y0, y0 + rows, dtype=np.float32)[:, None]
        base = 2000.0 + 1500.0 * np.sin(x / 97.0) * np.cos(y / 131.0) + 0.05 * (x + y)
        for b in range(3):
            noise = rng.normal(0.0, 40.0, size=(rows, size)).astype(np.float32)
            band = np.clip(base * (1.0 + 0.2 * b) + noise, 0, 65535).astype(np.uint16)
            ds.GetRasterBand(b + 1).WriteArray(band, 0, y0)
    ds.FlushCache()
    ds = None
    return path
