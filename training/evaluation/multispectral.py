"""A model of more bands than red, green, blue (e.g. blue, green, red, NIR) beside the RGB default.

Its true-colour bands are scored on the held-out regions and the RS-Haze tile beside the task's
default RGB model run on those bands alone (what a user of such a raster gets with ``--bands`` and
the RGB model), and it runs on the real Landsat-8 L1 scene with thin cloud in its own bands
(black level 5000, small tiles against a single tile), with the colour of its true-colour bands
and its NIR.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from osgeo import gdal

from ..data.real_scenes import REAL_SCENES
from ..evaluate import INPUT_METHOD, single_tile_size, tile_dependence
from ..synthesis.base import Degradation
from .base import CheckContext, CheckResult, EngineModel, mean_scores, means_section, run_methods, score_all
from .real_hazy import AERIAL_TILE, RGB, _baselines, _row_figure, chroma
from .rs_haze_pair import RS_HAZE, rs_haze_tile

gdal.UseExceptions()

#: The real scene with thin cloud and haze, one file per band.
SCENE = REAL_SCENES["landsat8_cloudy"]
#: The default model's name among the methods.
RGB_METHOD = "RGB model on the true-colour bands"


def _view(image: np.ndarray, bands: tuple[str, ...], order: tuple[str, ...] = RGB) -> np.ndarray:
    return image[[bands.index(b) for b in order]]


def applies(bands: tuple[str, ...]) -> bool:
    """A model with red, green and blue among more bands."""
    return bands != RGB and set(RGB) <= set(bands)


def _true_colour_scores(ctx: CheckContext, rgb_model: EngineModel, deg: Degradation) -> dict:
    bands = ctx.model.bands
    results = {m: _view(r, bands) for m, r in run_methods(ctx, deg).items()}
    results[RGB_METHOD] = rgb_model(_view(deg.inputs["optical"], bands))
    return score_all(ctx.task, results, _view(deg.target, bands))


def true_colour(ctx: CheckContext, rgb_model: EngineModel) -> dict:
    """Mean scores of the true-colour bands of each method on the held-out regions, and of the RGB
    model run on those bands of the input."""
    return mean_scores([_true_colour_scores(ctx, rgb_model, deg) for _, deg in ctx.regions])


def rs_haze_true_colour(ctx: CheckContext, rgb_model: EngineModel) -> dict:
    """The same on the whole RS-Haze tile, by variant."""
    clean, hazy = rs_haze_tile(ctx.data_root, ctx.model.bands)
    return {variant: _true_colour_scores(ctx, rgb_model, Degradation({"optical": image}, clean))
            for variant, image in hazy.items()}  # fmt: skip


def thin_cloud_scene(ctx: CheckContext, rgb_model: EngineModel, tmp: Path) -> dict:
    """The real Landsat-8 L1 scene with thin cloud, in the model's bands."""
    model, bands, level = ctx.model, ctx.model.bands, SCENE.black_level
    vrt, rgb_vrt = tmp / "scene.vrt", tmp / "rgb.vrt"
    gdal.BuildVRT(str(vrt), [str(ctx.data_root / SCENE.files[b]) for b in bands], separate=True)
    gdal.Translate(str(rgb_vrt), str(vrt), format="VRT", bandList=[bands.index(b) + 1 for b in RGB])
    hazy = gdal.Open(str(vrt)).ReadAsArray().astype(np.float32)
    source, rgb_source = {"optical": vrt}, {"optical": rgb_vrt}
    tiled, _ = model.restore_file(source, tmp / "tiled.tif", tile_size=AERIAL_TILE, black_level=level)
    single = single_tile_size(model.card.tile, *hazy.shape[1:])
    whole, _ = model.restore_file(source, tmp / "whole.tif", tile_size=single, black_level=level)
    rgb, _ = rgb_model.restore_file(rgb_source, tmp / "rgb.tif", tile_size=AERIAL_TILE, black_level=level)
    lo, hi = np.percentile(hazy, [0.5, 99.5])
    methods = {INPUT_METHOD: hazy, **_baselines(ctx.task, hazy, lo, hi), model.method: tiled}
    true = {m: _view(a, bands) for m, a in methods.items()}
    true[RGB_METHOD] = rgb
    valid = np.ones(hazy.shape[1:], bool)
    unit = float(np.percentile(true[INPUT_METHOD], 99.5))
    out = {"size": list(hazy.shape[1:]), "black_level": level, "tile_size": AERIAL_TILE,
           "seams_vs_single_tile": tile_dependence(tiled, whole, (lo, hi)),
           "chroma": {m: chroma(a, valid, unit) for m, a in true.items()}}  # fmt: skip
    if "nir" in bands:  # its 1st percentile (water) and its mean against red's, before and after
        nir, red = bands.index("nir"), bands.index("red")
        out["nir"] = {m: {"dark": round(float(np.percentile(a[nir], 1)) / unit, 3),
                          "over_red": round(float(a[nir].mean() / a[red].mean()), 3)}
                      for m, a in methods.items()}  # fmt: skip
        if ctx.figures:
            false = {m: _view(a, bands, ("nir", "red", "green")) for m, a in methods.items()}
            _row_figure(ctx.out_dir / f"{ctx.task}_real_multispectral.png",
                        [("true colour", true, valid), ("false colour (NIR, red, green)", false, valid)])
    return out


def multispectral_bands(ctx: CheckContext) -> CheckResult:
    """Both measurements, for a model with red, green, blue among more bands (skipped otherwise)."""
    if not applies(ctx.model.bands):
        return CheckResult("multispectral", {})
    rgb_model = EngineModel(ctx.task)
    if rgb_model.bands != RGB:
        return CheckResult("multispectral", {}, "### Multispectral\n\nNo RGB default model: skipped.\n\n")
    data = {"rgb_model": rgb_model.name, "true_colour_mean": true_colour(ctx, rgb_model)}
    if (ctx.data_root / RS_HAZE).is_dir():
        data["rs_haze_true_colour"] = rs_haze_true_colour(ctx, rgb_model)
    bands, figures = ctx.model.bands, ()
    if SCENE.has(bands) and all((ctx.data_root / SCENE.files[b]).is_file() for b in bands):
        with tempfile.TemporaryDirectory() as tmp:
            data["landsat8_l1_cloudy"] = thin_cloud_scene(ctx, rgb_model, Path(tmp))
        figure = ctx.out_dir / f"{ctx.task}_real_multispectral.png"
        figures = (figure,) if figure.is_file() and ctx.figures else ()
    title = f"True-colour bands of the held-out regions, beside {rgb_model.name} on those bands"
    return CheckResult("multispectral", data, means_section(title, data["true_colour_mean"]), figures)
