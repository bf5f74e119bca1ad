"""Tile geometry and blending weights: pure functions, no I/O.

Along each axis the raster (``size`` pixels) is reflect-padded by ``pad = overlap`` on both sides
and covered by ``count`` tiles of length ``tile`` placed every ``stride = tile - overlap`` pixels::

    raster:        |<------------------ size ------------------>|
    padded:   |pad |                                            |  pad + rest  |
    tile 0:   [==========T==========]
    tile 1:                  [==========T==========]
    tile 2:                                  [==========T==========]
                             |<-O->|         |<-O->|
                             overlap: blended with complementary ramps

Neighbouring tiles overlap by ``O`` pixels. In an overlap the left/top tile's weight falls from 1 to
0 while the other's rises from 0 to 1 (raised cosine, quantised to 1/4096 so that the two weights
sum to exactly one and products with float32 values stay exact in float64). The outer ``margin``
pixels of each overlap get weight 0 on the tile whose border they are, so values a network computed
from its own zero padding never reach the output. Raster edges keep weight 1 (no taper); the reflect
padding gives edge pixels the same context as interior ones.

After tile ``k`` is blended, its pixels ``[0, stride)`` (or all of it, for the last tile) are final:
nothing later touches them. The engine exploits this to write each cell as soon as it is complete.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .errors import InvalidOptionError

#: Weights are multiples of 2**-QUANT_BITS.
QUANT_BITS = 12


@dataclass(frozen=True)
class AxisPlan:
    """Tiling along one axis; coordinates are raster pixels (the first tile starts at ``-pad``)."""

    size: int
    tile: int
    overlap: int
    count: int

    @property
    def stride(self) -> int:
        return self.tile - self.overlap

    @property
    def pad(self) -> int:
        return self.overlap

    def start(self, k: int) -> int:
        """Raster coordinate of the first pixel of tile ``k`` (negative in the padding)."""
        return k * self.stride - self.pad

    def final_span(self, k: int) -> tuple[int, int]:
        """Tile-local range of pixels that are final once tile ``k`` is blended."""
        return (0, self.tile) if k == self.count - 1 else (0, self.stride)


@dataclass(frozen=True)
class Tile:
    """One tile: grid indices and its window in raster coordinates (may extend past the raster)."""

    row: int
    col: int
    y0: int
    x0: int
    height: int
    width: int


@dataclass(frozen=True)
class TileGrid:
    """The tiling of a whole raster: one ``AxisPlan`` per axis."""

    rows: AxisPlan
    cols: AxisPlan

    @property
    def count(self) -> int:
        return self.rows.count * self.cols.count

    def tile(self, i: int, j: int) -> Tile:
        return Tile(i, j, self.rows.start(i), self.cols.start(j), self.rows.tile, self.cols.tile)

    def tiles(self, band_width: int | None = None, align: int = 1) -> list[Tile]:
        """All tiles in processing order: column bands of tiles, row-major inside each band."""
        return list(self.iter_tiles(band_width, align))

    def iter_tiles(self, band_width: int | None = None, align: int = 1) -> Iterator[Tile]:
        """The tiles of ``tiles`` one at a time: memory stays constant however many there are."""
        for j0, j1 in self.column_bands(band_width, align):
            for i in range(self.rows.count):
                for j in range(j0, j1):
                    yield self.tile(i, j)

    def column_bands(self, band_width: int | None = None, align: int = 1) -> list[tuple[int, int]]:
        """Ranges of tile columns processed together, so memory is bounded by ``band_width`` pixels.

        A band boundary at tile column ``j`` is the raster column ``start(j)``, the first pixel
        finalised by tile ``j``. Where possible it is moved (by at most half a band) to a multiple
        of ``align`` (the output's block width): a block split between two bands is written twice,
        and a compressed GeoTIFF then stores it twice.
        """
        n = self.cols.count
        stride = self.cols.stride
        if not band_width or band_width >= (n - 1) * stride:
            return [(0, n)]
        per_band = max(1, band_width // stride)
        bands, j0 = [], 0
        while j0 < n:
            target = j0 + per_band
            j1 = min(n, target)
            if target < n:
                window = range(max(j0 + 1, target - per_band // 2), min(n, target + per_band // 2) + 1)
                aligned = [j for j in window if self.cols.start(j) % align == 0]
                if aligned:
                    j1 = min(aligned, key=lambda j: abs(j - target))
            bands.append((j0, j1))
            j0 = j1
        return bands

    def band_of(self, bands: list[tuple[int, int]], col: int) -> tuple[int, int]:
        """The band (from ``column_bands``) holding tile column ``col``."""
        return next(band for band in bands if band[0] <= col < band[1])


def round_up(value: int, multiple: int) -> int:
    """``value`` rounded up to a multiple of ``multiple``: tile sizes are multiples of the card's."""
    return -(-value // multiple) * multiple


def overlap_fits(overlap: int, tile: int) -> bool:
    """The overlap rule: at least 0 and less than half the tile, so every tile keeps a stride of
    its own after both neighbours' overlaps (cards, requested options and the planner all use it)."""
    return overlap >= 0 and 2 * overlap < tile


def single_tile_length(size: int, overlap: int, multiple: int = 1) -> int:
    """The smallest tile that holds an axis of ``size`` pixels with its overlap on both sides:
    any tile at least this long runs the axis as one tile."""
    return round_up(size + 2 * overlap, multiple)


def plan_axis(size: int, tile: int, overlap: int, multiple: int = 1) -> AxisPlan:
    """Tile an axis of ``size`` pixels; the tile shrinks (to a multiple) for small rasters."""
    if size < 1:
        raise InvalidOptionError(f"cannot tile an axis of {size} pixels")
    if multiple < 1 or tile < 1 or tile % multiple:
        raise InvalidOptionError(f"tile size {tile} must be a positive multiple of {multiple}")
    if not overlap_fits(overlap, tile):
        raise InvalidOptionError(f"overlap {overlap} must be >= 0 and less than half the tile size {tile}")
    length = min(tile, single_tile_length(size, overlap, multiple))
    stride = length - overlap
    count = max(1, math.ceil((size + overlap) / stride))
    return AxisPlan(size=size, tile=length, overlap=overlap, count=count)


def plan_grid(height: int, width: int, tile: int, overlap: int, multiple: int = 1) -> TileGrid:
    """The tile grid for a ``height`` x ``width`` raster."""
    return TileGrid(plan_axis(height, tile, overlap, multiple), plan_axis(width, tile, overlap, multiple))


def ramp(overlap: int, margin: int = 0) -> np.ndarray:
    """Rising weights over an overlap: 0 for ``margin`` pixels, raised cosine, 1 for ``margin`` pixels."""
    margin = max(0, min(margin, overlap // 2))
    rise = overlap - 2 * margin
    t = (np.arange(rise, dtype=np.float64) + 0.5) / max(rise, 1)
    core = 0.5 - 0.5 * np.cos(np.pi * t)
    values = np.concatenate([np.zeros(margin), core, np.ones(margin)])
    scale = float(1 << QUANT_BITS)
    return np.round(values * scale) / scale


def axis_weights(plan: AxisPlan, k: int, margin: int = 0) -> np.ndarray:
    """Float64 weights along one axis for tile ``k``: ramps inside overlaps, 1 at raster edges."""
    weights = np.ones(plan.tile, dtype=np.float64)
    if plan.overlap == 0:
        return weights
    up = ramp(plan.overlap, margin)
    if k > 0:
        weights[: plan.overlap] = up
    if k < plan.count - 1:
        weights[plan.stride :] = 1.0 - up
    return weights


def tile_weights(grid: TileGrid, tile: Tile, margin: int = 0) -> np.ndarray:
    """Separable 2-D weights (height, width) of ``tile``; all tiles' weights sum to exactly one."""
    return np.outer(axis_weights(grid.rows, tile.row, margin), axis_weights(grid.cols, tile.col, margin))


def reflect_indices(start: int, length: int, size: int) -> np.ndarray:
    """Indices ``start .. start+length-1`` folded into ``[0, size)`` by mirror reflection (no edge repeat)."""
    idx = np.arange(start, start + length)
    if size == 1:
        return np.zeros_like(idx)
    period = 2 * (size - 1)
    idx = np.mod(idx, period)
    return np.where(idx >= size, period - idx, idx)
