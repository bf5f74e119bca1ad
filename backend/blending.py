"""Streaming blender: accumulates weighted tile outputs and hands back each cell once it is final.

Tiles arrive in column bands, row-major inside a band (``TileGrid.tiles``). Only two carries are
kept between tiles: the right overlap of the previous tile in the same row (one per tile row, so a
band can hand it to the next band) and the bottom overlap of the previous tile row (``overlap`` rows
across the padded width). Memory is therefore a few tiles plus thin halos, whatever the raster size.

Accumulators are float64. With ``track_weight`` (gap filling) one extra channel holds the summed
weight: where a neighbour was skipped (all missing) the weight sums to less than one and the value
is renormalised. Without it (every other task) no channel is needed: a pixel a skipped tile covers
is nodata in the input, so it is written as nodata anyway. Weights of computed tiles sum to exactly
one, so nothing is divided and an identity model is reproduced bit-exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .tiling import Tile, TileGrid, tile_weights


@dataclass(frozen=True)
class FinalCell:
    """A finished block in raster coordinates, with the tile-local window it came from."""

    y0: int
    x0: int
    values: np.ndarray  # (C, h, w) float64, blended
    weight: np.ndarray | None  # (h, w) summed weight of the computed tiles (``track_weight`` only)
    local: tuple[slice, slice]


class Blender:
    """Blends tiles of ``grid`` with ``channels`` output channels; see the module docstring."""

    def __init__(self, grid: TileGrid, channels: int, margin: int = 0,
                 bands: list[tuple[int, int]] | None = None, track_weight: bool = True) -> None:
        self.grid = grid
        self.channels = channels
        self.depth = channels + 1 if track_weight else channels
        self.margin = margin
        self.bands = bands or [(0, grid.cols.count)]
        self.overlap_y, self.overlap_x = grid.rows.overlap, grid.cols.overlap
        self._band: tuple[int, int] | None = None
        self._bottom = np.zeros((0, 0, 0))
        self._right: dict[int, np.ndarray] = {}
        self._weights: dict[tuple[int, int], np.ndarray] = {}

    def _tile_weights(self, tile: Tile) -> np.ndarray:
        # Only four distinct weight patterns per axis (first, inner, last, single): cache them.
        key = (_kind(tile.row, self.grid.rows.count), _kind(tile.col, self.grid.cols.count))
        if key not in self._weights:
            self._weights[key] = tile_weights(self.grid, tile, self.margin)
        return self._weights[key]

    def add(self, tile: Tile, output: np.ndarray | None) -> FinalCell | None:
        """Blend one tile's model output (``None`` for a skipped tile); return its final cell."""
        rows, cols = self.grid.rows, self.grid.cols
        i, j = tile.row, tile.col
        weights = self._tile_weights(tile)
        acc = np.empty((self.depth, rows.tile, cols.tile), dtype=np.float64)
        if output is None:
            acc[:] = 0.0
        else:
            np.multiply(output, weights, out=acc[: self.channels])
            if self.depth > self.channels:
                acc[self.channels] = weights
        oy, ox = self.overlap_y, self.overlap_x
        last_col = j == cols.count - 1
        span = cols.tile if last_col else cols.stride
        band = self.grid.band_of(self.bands, j)
        if band != self._band:
            # The bottom carry spans one column band only: memory does not grow with the raster width.
            self._band = band
            width = (band[1] - band[0] - 1) * cols.stride + cols.tile
            self._bottom = np.zeros((self.depth, rows.overlap, width), dtype=np.float64)
        c0 = (j - band[0]) * cols.stride
        if ox and j > 0:
            acc[:, :, :ox] += self._right.pop(i)
        if oy and i > 0:
            acc[:, :oy, :span] += self._bottom[:, :, c0 : c0 + span]
        if ox and not last_col:
            self._right[i] = acc[:, :, cols.stride :].copy()
        if oy and i < rows.count - 1:
            self._bottom[:, :, c0 : c0 + span] = acc[:, rows.stride :, :span]
        fy = rows.final_span(i)[1]
        fx = cols.final_span(j)[1]
        # Crop the final cell to the raster (the padding around it is never written).
        ly0 = max(0, -tile.y0)
        lx0 = max(0, -tile.x0)
        ly1 = min(fy, rows.size - tile.y0)
        lx1 = min(fx, cols.size - tile.x0)
        if ly1 <= ly0 or lx1 <= lx0:
            return None
        local = (slice(ly0, ly1), slice(lx0, lx1))
        cell = acc[:, local[0], local[1]]
        weight = cell[self.channels] if self.depth > self.channels else None
        return FinalCell(tile.y0 + ly0, tile.x0 + lx0, cell[: self.channels], weight, local)


def _kind(k: int, n: int) -> int:
    if n == 1:
        return 3
    return 0 if k == 0 else (2 if k == n - 1 else 1)
