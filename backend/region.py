"""A region of polygons: restore only inside them (the plugin's MASK_LAYER, the CLI's ``--region``).

The output covers the polygons' bounding box (within the extent, if both are given), tiles that no
polygon touches are not run, and pixels outside the polygons keep the input's values.
"""

from __future__ import annotations

import numpy as np

from .errors import InputRasterError, InvalidOptionError
from .extent import Extent


def region_extent(path: str, wkt: str) -> Extent:
    """The bounding box of every feature of the vector file ``path``, in the CRS ``wkt``."""
    from osgeo import ogr, osr

    try:
        source = ogr.Open(str(path))
    except RuntimeError as exc:
        raise InputRasterError(f"region {path} cannot be read as vector data ({exc})") from None
    if source is None or source.GetLayerCount() == 0:
        raise InputRasterError(f"region {path} is not vector data GDAL can read")
    layer = source.GetLayer(0)
    if layer.GetFeatureCount() == 0:
        raise InvalidOptionError(f"region {path} has no features", options=("region",))
    xmin, xmax, ymin, ymax = layer.GetExtent()
    srs = layer.GetSpatialRef()
    crs = srs.ExportToWkt() if srs is not None and wkt else None
    if crs is not None and srs.IsSame(osr.SpatialReference(wkt=wkt)):
        crs = None
    if xmin == xmax:  # a single vertical edge still covers a column of pixels
        xmax = xmin + 1e-9
    if ymin == ymax:
        ymax = ymin + 1e-9
    return Extent(xmin, ymin, xmax, ymax, crs)


def rasterize_region(path: str, width: int, height: int, geotransform: tuple[float, ...],
                     wkt: str) -> np.ndarray:  # fmt: skip
    """(height, width) bool: the pixels of the grid that the polygons of ``path`` touch (features in
    another CRS are reprojected onto the grid's)."""
    from osgeo import gdal

    target = gdal.GetDriverByName("MEM").Create("", width, height, 1, gdal.GDT_Byte)
    target.SetGeoTransform(tuple(geotransform))
    if wkt:
        target.SetProjection(wkt)
    try:
        gdal.Rasterize(target, str(path), burnValues=[1], allTouched=True)
    except RuntimeError as exc:
        raise InputRasterError(f"region {path} cannot be rasterised onto the input's grid ({exc})") from None
    return target.GetRasterBand(1).ReadAsArray().astype(bool)


def keep_outside(writer, reader, region: np.ndarray, rows: int = 512) -> None:
    """Copy ``reader``'s values into ``writer``'s raster wherever ``region`` is False (a second
    pass over the written output, block by block, before it is committed)."""
    height, width = region.shape
    for y0 in range(0, height, rows):
        h = min(rows, height - y0)
        outside = ~region[y0 : y0 + h]
        if not outside.any():
            continue
        out = writer.ds.ReadAsArray(0, y0, width, h).reshape(-1, h, width)
        out[:, outside] = reader.read(y0, 0, h, width)[:, outside].astype(out.dtype)
        writer.write(y0, 0, out)
