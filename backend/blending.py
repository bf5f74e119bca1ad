"""Streaming blender: accumulates weighted tile outputs and hands back each cell once it is final.

Tiles arrive in column bands, row-major inside a band (``TileGrid.tiles``). Only two carries are
kept between tiles: the right overlap of the previous tile in the same row (one per tile row, so a
band can hand it to the next band) and the bottom overlap of the previous tile row (``overlap`` rows
across the padded width). Memory is therefore a few tiles plus thin halos, whatever the raster size.

Accumulators are float64 with one extra channel holding the summed weight: where a neighbour was
skipped (all nodata) the weight sums to less than one and the value is renormalised; where it sums
to exactly one (everywhere else) no division happens, so an identity model is reproduced bit-exactly.
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
    weight: np.ndarray  # (h, w) summed weight of the tiles that were computed
    local: tuple[slice, slice]


class Blender:
    """Blends tiles of ``grid`` with ``channels`` output channels; see the module docstring."""

    def __init__(self, grid: TileGrid, channels: int, margin: int = 0) -> None:
        self.grid = grid
        self.channels = channels
        self.margin = margin
        rows, cols = grid.rows, grid.cols
        self.overlap_y, self.overlap_x = rows.overlap, cols.overlap
        padded_width = (cols.count - 1) * cols.stride + cols.tile
        self._bottom = np.zeros((channels + 1, rows.overlap, padded_width), dtype=np.float64)
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
        acc = np.empty((self.channels + 1, rows.tile, cols.tile), dtype=np.float64)
        if output is None:
            acc[:] = 0.0
        else:
            np.multiply(output, weights, out=acc[: self.channels])
            acc[self.channels] = weights
        oy, ox = self.overlap_y, self.overlap_x
        last_col = j == cols.count - 1
        span = cols.tile if last_col else cols.stride
        c0 = j * cols.stride
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
        return FinalCell(tile.y0 + ly0, tile.x0 + lx0, cell[: self.channels], cell[self.channels], local)


def _kind(k: int, n: int) -> int:
    if n == 1:
        return 3
    return 0 if k == 0 else (2 if k == n - 1 else 1)
