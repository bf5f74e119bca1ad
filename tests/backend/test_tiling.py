from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.errors import InvalidOptionError
from backend.tiling import overlap_fits, plan_axis, plan_grid, ramp, reflect_indices, round_up, tile_weights


@st.composite
def axes(draw: st.DrawFn) -> tuple[int, int, int, int, int]:
    multiple = draw(st.sampled_from([1, 4, 8, 16]))
    tile = multiple * draw(st.integers(1, 24))
    overlap = draw(st.integers(0, max(0, (tile - 1) // 2)))
    size = draw(st.integers(1, 700))
    margin = draw(st.integers(0, 8))
    return size, tile, overlap, multiple, margin


@settings(max_examples=150, deadline=None)
@given(axes())
def test_every_pixel_covered_and_weights_sum_to_exactly_one(case: tuple[int, int, int, int, int]) -> None:
    size, tile, overlap, multiple, margin = case
    plan = plan_axis(size, tile, overlap, multiple)
    assert plan.tile % multiple == 0 and plan.tile <= tile
    coverage = np.zeros(size, dtype=np.int64)
    total = np.zeros(size, dtype=np.float64)
    final = np.zeros(size, dtype=np.int64)
    grid = plan_grid(1, size, tile, overlap, multiple)
    for k in range(plan.count):
        start = plan.start(k)
        idx = np.arange(start, start + plan.tile)
        inside = (idx >= 0) & (idx < size)
        weights = tile_weights(grid, grid.tile(0, k), margin)[0]
        coverage[idx[inside]] += 1
        total[idx[inside]] += weights[inside]
        lo, hi = plan.final_span(k)
        fin = idx[lo:hi]
        final[fin[(fin >= 0) & (fin < size)]] += 1
    assert (coverage >= 1).all()
    assert (total == 1.0).all()  # exactly, not approximately
    assert (final == 1).all()  # each pixel is finalised by exactly one tile


@settings(max_examples=60, deadline=None)
@given(axes())
def test_reflect_padding_gives_edges_context(case: tuple[int, int, int, int, int]) -> None:
    size, tile, overlap, multiple, _ = case
    plan = plan_axis(size, tile, overlap, multiple)
    assert plan.start(0) == -overlap
    assert plan.start(plan.count - 1) + plan.tile >= size + overlap


def test_ramp_is_zero_in_margin_and_complementary() -> None:
    up = ramp(16, margin=3)
    assert (up[:3] == 0).all() and (up[-3:] == 1).all()
    assert np.all(np.diff(up) >= 0)
    assert ((up * 4096) % 1 == 0).all()  # quantised: products with float32 stay exact in float64


def test_tile_shrinks_for_small_rasters() -> None:
    plan = plan_axis(1, 512, 32, 8)
    assert plan.count == 1 and plan.tile == 72  # 1 + 2 * 32 rounded up to 8


@pytest.mark.parametrize("tile, overlap", [(64, 32), (64, -1), (60, 8)])
def test_bad_options_are_refused(tile: int, overlap: int) -> None:
    with pytest.raises(InvalidOptionError):
        plan_axis(100, tile, overlap, 8)


def test_column_bands_bound_the_width_and_align_to_blocks() -> None:
    grid = plan_grid(100, 20000, 512, 32, 8)
    plain = grid.column_bands(4096)
    assert plain[0] == (0, 4096 // 480)
    aligned = grid.column_bands(4096, align=256)
    for bands in (plain, aligned):
        assert bands[0][0] == 0 and bands[-1][1] == grid.cols.count
        assert all(a[1] == b[0] for a, b in zip(bands, bands[1:], strict=False))
        assert all(0 < (j1 - j0) * 480 <= 1.5 * 4096 for j0, j1 in bands)
    # Every boundary starts on an output block: no block is written by two bands.
    assert all(grid.cols.start(j0) % 256 == 0 for j0, _ in aligned[1:])
    assert len(grid.tiles(4096, align=256)) == grid.count


def test_reflect_indices_mirror_without_repeating_the_edge() -> None:
    assert reflect_indices(-2, 6, 4).tolist() == [2, 1, 0, 1, 2, 3]
    assert reflect_indices(2, 5, 4).tolist() == [2, 3, 2, 1, 0]
    assert reflect_indices(-3, 7, 1).tolist() == [0] * 7


def test_round_up_and_the_overlap_rule() -> None:
    assert [round_up(v, 8) for v in (1, 8, 9, 16)] == [8, 8, 16, 16]
    assert round_up(5, 1) == 5
    assert overlap_fits(0, 1) and overlap_fits(31, 64)
    assert not overlap_fits(32, 64) and not overlap_fits(-1, 64)
