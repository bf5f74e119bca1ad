from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.blending import Blender
from backend.tiling import plan_grid


def _run(height: int, width: int, tile: int, overlap: int, band_width: int | None,
         value: np.ndarray, skip: set[tuple[int, int]] = frozenset(),
         track_weight: bool = True) -> tuple[np.ndarray, np.ndarray, int]:
    grid = plan_grid(height, width, tile, overlap, 8)
    blender = Blender(grid, value.shape[0], margin=2, bands=grid.column_bands(band_width),
                      track_weight=track_weight)
    out = np.full(value.shape, np.nan)
    weight = np.full((height, width), np.nan)
    writes = 0
    for t in grid.tiles(band_width):
        rows = np.clip(np.arange(t.y0, t.y0 + t.height), 0, height - 1)
        cols = np.clip(np.arange(t.x0, t.x0 + t.width), 0, width - 1)
        data = None if (t.row, t.col) in skip else value[:, rows][:, :, cols].astype(np.float32)
        cell = blender.add(t, data)
        if cell is None:
            continue
        h, w = cell.values.shape[1:]
        region = (slice(cell.y0, cell.y0 + h), slice(cell.x0, cell.x0 + w))
        assert np.isnan(weight[region]).all(), "a pixel was written twice"
        out[:, region[0], region[1]] = cell.values
        weight[region] = cell.weight if cell.weight is not None else 1.0
        writes += 1
    return out, weight, writes


@pytest.mark.parametrize("band_width", [None, 100, 36])
def test_constant_tiles_blend_back_to_the_input(band_width: int | None) -> None:
    rng = np.random.default_rng(3)
    value = rng.normal(size=(2, 203, 331)).astype(np.float32)
    out, weight, _ = _run(203, 331, 48, 12, band_width, value)
    assert (weight == 1.0).all()
    assert np.array_equal(out.astype(np.float32), value)


def test_skipped_tile_leaves_zero_weight_and_partial_neighbours() -> None:
    value = np.ones((1, 150, 150), np.float32)
    out, weight, _ = _run(150, 150, 48, 12, None, value, skip={(1, 1)})
    assert (weight == 0).any() and ((weight > 0) & (weight < 1)).any()
    assert np.allclose(out[0][weight > 0] / weight[weight > 0], 1.0)


def test_without_weight_channel_values_are_identical() -> None:
    rng = np.random.default_rng(4)
    value = rng.normal(size=(3, 99, 140)).astype(np.float32)
    tracked, _, writes = _run(99, 140, 32, 8, 60, value)
    untracked, _, writes2 = _run(99, 140, 32, 8, 60, value, track_weight=False)
    assert writes == writes2 and np.array_equal(tracked, untracked)


@settings(max_examples=40, deadline=None)
@given(height=st.integers(1, 120), width=st.integers(1, 160), tile=st.sampled_from([8, 16, 24, 48]),
       overlap_frac=st.floats(0.0, 0.49), band_width=st.sampled_from([None, 8, 30, 64]),
       track=st.booleans())
def test_streaming_blend_writes_each_pixel_once_and_exactly(height: int, width: int, tile: int,
                                                            overlap_frac: float, band_width: int | None,
                                                            track: bool) -> None:
    value = np.random.default_rng(height * 1000 + width).normal(size=(2, height, width)).astype(np.float32)
    overlap = int(overlap_frac * tile)
    out, weight, _ = _run(height, width, tile, overlap, band_width, value, track_weight=track)
    assert not np.isnan(weight).any()  # every pixel written (twice would have failed inside _run)
    assert (weight == 1.0).all()
    assert np.array_equal(out.astype(np.float32), value)
