"""A processing extent: restore only the part of a raster inside a rectangle.

``Extent`` is plain data (the plugin builds one from QGIS's EXTENT parameter, the CLI from
``--extent xmin,ymin,xmax,ymax[,crs]``). ``pixel_window`` turns it into the whole pixels of a raster's
grid that it touches; a ``RasterReader`` with that window shows the engine only those pixels (tiles
outside it are never run, the output covers the extent on the input's own pixel grid) while the
tiles' halos and the normalisation statistics still come from the whole raster.

Pure Python (GDAL is imported where a CRS must be transformed): ``RestoreJob`` holds an ``Extent``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import InputRasterError, InvalidOptionError


@dataclass(frozen=True)
class Extent:
    """``xmin, ymin, xmax, ymax`` in ``crs`` (any definition GDAL reads, e.g. ``EPSG:4326``);
    ``crs`` ``None`` means the coordinates are in the optical raster's own CRS."""

    xmin: float
    ymin: float
    xmax: float
    ymax: float
    crs: str | None = None

    def __post_init__(self) -> None:
        values = (self.xmin, self.ymin, self.xmax, self.ymax)
        if not all(math.isfinite(v) for v in values):
            raise InvalidOptionError(f"extent {values} has a value that is not a finite number",
                                     options=("extent",))  # fmt: skip
        if self.xmin >= self.xmax or self.ymin >= self.ymax:
            raise InvalidOptionError(
                f"extent must have xmin < xmax and ymin < ymax, got {self.xmin:g},{self.ymin:g},"
                f"{self.xmax:g},{self.ymax:g}", options=("extent",))

    @classmethod
    def parse(cls, text: str) -> Extent:
        """``"xmin,ymin,xmax,ymax"`` or ``"xmin,ymin,xmax,ymax,EPSG:4326"``."""
        parts = [p.strip() for p in text.split(",")]
        if len(parts) not in (4, 5):
            raise InvalidOptionError(f"extent {text!r} must be xmin,ymin,xmax,ymax[,crs]",
                                     options=("extent",))  # fmt: skip
        try:
            numbers = [float(p) for p in parts[:4]]
        except ValueError:
            raise InvalidOptionError(f"extent {text!r}: xmin,ymin,xmax,ymax must be numbers",
                                     options=("extent",)) from None  # fmt: skip
        return cls(*numbers, crs=parts[4] if len(parts) == 5 and parts[4] else None)


@dataclass(frozen=True)
class Window:
    """Whole pixels ``x0 .. x0 + width``, ``y0 .. y0 + height`` of a grid."""

    x0: int
    y0: int
    width: int
    height: int


def _in_grid_crs(extent: Extent, wkt: str) -> tuple[float, float, float, float]:
    """The extent's bounding box in the grid's CRS (corners and edge midpoints transformed)."""
    if extent.crs is None or not wkt:
        return extent.xmin, extent.ymin, extent.xmax, extent.ymax
    from osgeo import osr

    source, target = osr.SpatialReference(), osr.SpatialReference(wkt=wkt)
    try:
        failed = source.SetFromUserInput(extent.crs) != 0
    except RuntimeError:
        failed = True
    if failed:
        raise InvalidOptionError(f"extent CRS {extent.crs!r} is not a coordinate reference system GDAL knows",
                                 options=("extent",))  # fmt: skip
    if source.IsSame(target):
        return extent.xmin, extent.ymin, extent.xmax, extent.ymax
    for srs in (source, target):
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    transform = osr.CoordinateTransformation(source, target)
    xs = (extent.xmin, (extent.xmin + extent.xmax) / 2, extent.xmax)
    ys = (extent.ymin, (extent.ymin + extent.ymax) / 2, extent.ymax)
    points = [transform.TransformPoint(float(x), float(y))[:2] for x in xs for y in ys]
    return (min(p[0] for p in points), min(p[1] for p in points),
            max(p[0] for p in points), max(p[1] for p in points))  # fmt: skip


def pixel_window(extent: Extent, width: int, height: int, geotransform: tuple[float, ...], wkt: str,
                 name: str = "the raster") -> Window:  # fmt: skip
    """The pixels of a ``width`` x ``height`` grid that the extent touches (clipped to the grid)."""
    gt = geotransform
    if gt[2] or gt[4]:
        raise InputRasterError(f"{name} has a rotated geotransform; an extent cannot be applied to it")
    xmin, ymin, xmax, ymax = _in_grid_crs(extent, wkt)
    cols = sorted(((xmin - gt[0]) / gt[1], (xmax - gt[0]) / gt[1]))
    rows = sorted(((ymax - gt[3]) / gt[5], (ymin - gt[3]) / gt[5]))
    eps = 1e-6  # an edge exactly on a pixel boundary does not take in the next pixel
    x0, x1 = max(0, math.floor(cols[0] + eps)), min(width, math.ceil(cols[1] - eps))
    y0, y1 = max(0, math.floor(rows[0] + eps)), min(height, math.ceil(rows[1] - eps))
    if x1 <= x0 or y1 <= y0:
        raise InvalidOptionError(
            f"the extent {extent.xmin:g},{extent.ymin:g},{extent.xmax:g},{extent.ymax:g}"
            f"{' (' + extent.crs + ')' if extent.crs else ''} does not overlap {name}", options=("extent",))
    return Window(x0, y0, x1 - x0, y1 - y0)

