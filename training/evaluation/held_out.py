"""Checks on variants of the held-out test regions: without the degradation, with other per-band
gains, degraded by another recipe, and the figure of a few of them beside their reference.

Each variant is made from the regions the main table scored (``CheckContext.regions``), with its
own fixed seed per region: ``[seed, n, 7]`` for the gains, ``[seed, n, 11]`` for the other recipe
(``n``: the region's place in the list).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..figures import Panel, common_stretch, panel_grid
from ..synthesis import SYNTHESES
from ..synthesis.band_gain import draw_band_gains
from ..synthesis.base import Degradation
from .base import CheckContext, CheckResult, mean_scores, means_section, run_methods, score_all, with_optical

#: Regions shown in ``<task>_synthetic.png``, spread evenly over the list.
FIGURE_REGIONS = 3
#: Per-band gains of ``band_gain``: log-uniform in [1 / ratio, ratio], divided by the largest.
GAIN_RATIO = 2.0
#: The other recipe of ``rs_recipe``: the RS-Haze benchmark's haze (a bright, warm airlight).
OTHER_RECIPE = "rs_haze"

Variant = Callable[[CheckContext, int, Degradation], tuple[Degradation, dict]]


def _variant_check(ctx: CheckContext, name: str, variant: Variant, title: str, note: str, *,
                   with_input: bool = True) -> CheckResult:  # fmt: skip
    rows = []
    for n, (region, deg) in enumerate(ctx.regions):
        changed, info = variant(ctx, n, deg)
        scores = score_all(ctx.task, run_methods(ctx, changed, with_input=with_input), changed.target)
        rows.append({"region": region, **info, "scores": scores})
    means = mean_scores([r["scores"] for r in rows])
    data = {"regions": len(rows), "means": means, "per_region": rows}
    return CheckResult(name, data, means_section(f"{title} ({len(rows)} regions)", means, note))


def _clear(ctx: CheckContext, n: int, deg: Degradation) -> tuple[Degradation, dict]:
    return with_optical(deg, deg.target, deg.target), {}


def clear(ctx: CheckContext) -> CheckResult:
    """The clean regions themselves as input, which a restoration should return unchanged."""
    return _variant_check(ctx, "clear", _clear, "The same regions without the degradation",
                          "The clean region is the input and the reference.", with_input=False)


def _band_gain(ctx: CheckContext, n: int, deg: Degradation) -> tuple[Degradation, dict]:
    gains = draw_band_gains(np.random.default_rng([ctx.seed, n, 7]), len(deg.target), GAIN_RATIO)
    changed = with_optical(deg, deg.inputs["optical"] * gains, deg.target * gains)
    return changed, {"gains": [round(float(g), 3) for g in gains[:, 0, 0]]}


def band_gain(ctx: CheckContext) -> CheckResult:
    """The same pairs with fixed per-band gains (input and reference alike): another product's
    balance between its bands."""
    return _variant_check(ctx, "band_gain", _band_gain, "The same pairs with per-band gains",
                          f"Gains log-uniform in [1/{GAIN_RATIO:g}, {GAIN_RATIO:g}] per band, the largest 1, "
                          "applied to the degraded input and the reference alike.")  # fmt: skip


def other_recipe(clean: np.ndarray, n: int, root: Path, bands: tuple[str, ...], seed: int = 0) -> Degradation:
    """The ``n``-th clean region degraded by ``OTHER_RECIPE`` with its fixed seed."""
    entry = SYNTHESES[OTHER_RECIPE]
    rng = np.random.default_rng([seed, n, 11])
    return entry.synth({"optical": clean}, rng, entry.make_config(root), bands)


def _other_recipe(ctx: CheckContext, n: int, deg: Degradation) -> tuple[Degradation, dict]:
    other = other_recipe(deg.target, n, ctx.data_root, ctx.model.bands, ctx.seed)
    return with_optical(deg, other.inputs["optical"], other.target), {}


def rs_recipe(ctx: CheckContext) -> CheckResult:
    """The same clean regions degraded by the RS-Haze benchmark's recipe instead (which rescales
    the reference too)."""
    return _variant_check(ctx, "rs_recipe", _other_recipe, "The same regions hazed by the RS-Haze recipe",
                          "`training.synthesis.rs_haze`: an airlight about twice as bright as the ground.")


def held_out_figure(ctx: CheckContext) -> CheckResult:
    """``<task>_synthetic.png``: a few held-out regions, degraded input | each method | reference,
    every panel of a row with one common stretch (0.5-99.5 % of the row)."""
    if not ctx.figures or not ctx.regions:
        return CheckResult("figure", {})
    picks = np.unique(np.linspace(0, len(ctx.regions) - 1, FIGURE_REGIONS).astype(int))
    rows, labels = [], []
    for i in picks:
        region, deg = ctx.regions[int(i)]
        results = {**run_methods(ctx, deg), "clean reference": deg.target}
        shown = [_true_colour(a, ctx.model.bands) for a in results.values()]
        stretch = common_stretch(shown)
        titles = results if not rows else [""] * len(results)
        rows.append([Panel(a, t, stretch) for a, t in zip(shown, titles, strict=True)])
        labels.append(region)
    path = panel_grid(ctx.out_dir / f"{ctx.task}_synthetic.png", rows, row_labels=labels, cell=(4, 4), dpi=80)
    return CheckResult("figure", {"synthetic": path.name}, figures=(path,))


def _true_colour(image: np.ndarray, bands: tuple[str, ...]) -> np.ndarray:
    """Red, green, blue of ``image`` where it has them, else its first bands."""
    if {"red", "green", "blue"} <= set(bands):
        return image[[bands.index(b) for b in ("red", "green", "blue")]]
    return image
