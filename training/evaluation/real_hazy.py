"""Real hazy scenes without a reference, at full resolution through the engine: seams and colour.

The Landsat-8 L1 scene (blue, green, red digital numbers with 0 as fill) runs with the card's
tiling and once more as a single tile (``tile_dependence``: seams), then with its black level; the
35 hazy aerial photos run with small tiles (so that they are tiled at all) against a single tile.
Colour without a reference: the mean R/G and B/G ratios, the dark objects (the darkest 1 % of the
pixels, near black on the ground: what stays there is path radiance the method left; dark-object
subtraction, Chavez 1988) and the share of pixels crushed to black. The baselines run on the
scene's 0.5-99.5 % stretch and are mapped back. Only for a model of red, green, blue.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
from osgeo import gdal

from ..baselines import BASELINES
from ..data.unlabelled import REAL_AERIAL_DIR
from ..evaluate import INPUT_METHOD, single_tile_size, tile_dependence
from ..figures import Panel, common_stretch, panel_grid
from ..metrics import crushed_share
from .base import CheckContext, CheckResult, EngineModel

gdal.UseExceptions()

LANDSAT = "landsat8_l1_hazy_224078"
LANDSAT_HAZY = Path("remote_sensing") / LANDSAT / "LC08_L1TP_224078_20200518_20200518_01_RT.TIF"
#: Its digital number of zero reflectance, -REFLECTANCE_ADD / REFLECTANCE_MULT = 0.1 / 2e-5 in every
#: band (the USGS constants of every Landsat-8 Collection-1 L1 product).
LANDSAT_BLACK_LEVEL = 5000.0
#: The aerial photos (600-800 px) run with tiles this small so that they are tiled at all.
AERIAL_TILE = 384
AERIAL_FIGURE = ("AID_farmland_265.jpg", "AID_denseresidential_65.jpg", "DIOR_TEST_12035.jpg")
RGB = ("red", "green", "blue")


def chroma(image: np.ndarray, valid: np.ndarray, unit: float) -> dict:
    """Mean red/green and blue/green ratios, the dark objects' red, green, blue (the darkest 1 % of
    the valid pixels, in units of ``unit``: the input's 99.5th percentile) and the share of valid
    pixels with a band at or below 0.2 % of ``unit`` (shadows clipped to black)."""
    r, g, b = (float(image[c][valid].mean()) for c in range(3))
    lum = image.mean(axis=0)
    dark = valid & (lum <= np.percentile(lum[valid], 1))
    dark_rgb = [round(float(image[c][dark].mean()) / unit, 3) for c in range(3)]
    return {"r_over_g": round(r / g, 3), "b_over_g": round(b / g, 3), "dark_rgb": dark_rgb,
            "crushed": round(crushed_share(image, 0.002 * unit, valid), 4)}  # fmt: skip


def chroma_summary(per_image: dict) -> dict:
    """Per method, over the images: mean R/G, B/G, dark-object colour and crushed share, and the mean
    |change| of R/G plus B/G against the input (which removing a tinted haze also moves)."""
    rows = [v["chroma"] for v in per_image.values()]
    hazy = np.array([[r[INPUT_METHOD]["r_over_g"], r[INPUT_METHOD]["b_over_g"]] for r in rows])
    out = {}
    for method in rows[0]:
        ratios = np.array([[r[method]["r_over_g"], r[method]["b_over_g"]] for r in rows])
        dark = np.array([r[method]["dark_rgb"] for r in rows])
        out[method] = {"r_over_g": round(float(ratios[:, 0].mean()), 3),
                       "b_over_g": round(float(ratios[:, 1].mean()), 3),
                       "dark_rgb": [round(float(v), 3) for v in dark.mean(axis=0)],
                       "shift_vs_hazy": round(float(np.abs(ratios - hazy).sum(axis=1).mean()), 3),
                       "crushed": round(float(np.mean([r[method]["crushed"] for r in rows])), 4)}  # fmt: skip
    return out


def _baselines(task: str, image: np.ndarray, lo: float, hi: float) -> dict[str, np.ndarray]:
    """The task's baselines on the image stretched to [0, 1] (fill as 0), mapped back to its units."""
    unit = np.clip(np.nan_to_num((image - lo) / (hi - lo), nan=0.0), 0, 1)
    found = {m: f({"optical": unit}) for m, f in BASELINES.get(task, {}).items()}
    return {m: r * (hi - lo) + lo for m, r in found.items() if r is not None}


def _timed(model: EngineModel, source: Path, out: Path, **options) -> tuple[np.ndarray, float]:
    began = time.perf_counter()
    array, _ = model.restore_file({"optical": source}, out, **options)
    return array, time.perf_counter() - began


def landsat(ctx: CheckContext, tmp: Path) -> dict:
    """The Landsat-8 L1 scene: seams, colour, and the run with its black level."""
    model, card_tile = ctx.model, ctx.model.card.tile
    # blue, green, red with 0 as fill but no nodata flag: say so in a VRT, as a user sets it in QGIS
    vrt = tmp / "landsat_rgb.vrt"
    gdal.Translate(str(vrt), str(ctx.data_root / LANDSAT_HAZY), format="VRT", bandList=[3, 2, 1], noData=0)
    hazy = gdal.Open(str(vrt)).ReadAsArray().astype(np.float32)
    valid = (hazy > 0).all(axis=0)
    tiled, seconds = _timed(model, vrt, tmp / "landsat_tiled.tif")
    single = single_tile_size(card_tile, *valid.shape)
    whole, _ = _timed(model, vrt, tmp / "landsat_whole.tif", tile_size=single)
    anchored, _ = _timed(model, vrt, tmp / "landsat_black_level.tif", black_level=LANDSAT_BLACK_LEVEL)
    lo, hi = np.percentile(hazy[:, valid], [0.5, 99.5])
    baselines = _baselines(ctx.task, np.where(valid, hazy, np.nan), lo, hi)
    methods = {INPUT_METHOD: hazy, **baselines, model.method: tiled}
    # valid pixels that read back as nodata (NaN) after the black-level run: counted so a regression shows
    valid_anchored = valid & np.isfinite(anchored).all(axis=0)
    with_black = {**methods, f"{model.method}, black level": anchored}
    result = {
        "size": list(hazy.shape[1:]), "seconds_tiled": round(seconds, 1),
        "tiling": [card_tile.default_size, card_tile.overlap],
        "seams_vs_single_tile": tile_dependence(tiled[:, valid], whole[:, valid], (lo, hi)),
        "chroma": {m: chroma(a, valid, hi) for m, a in methods.items()},
        "chroma_black_level": {
            "black_level": LANDSAT_BLACK_LEVEL, "model": chroma(anchored, valid_anchored, hi),
            "pixels_at_nodata": int((valid & ~valid_anchored).sum()),
            # share of valid pixels with a band below black ground (a negative reflectance)
            "below_black_ground": {m: round(float((a[:, valid] < LANDSAT_BLACK_LEVEL).any(axis=0).mean()), 4)
                                   for m, a in with_black.items()}},
    }  # fmt: skip
    if ctx.figures:
        shown = {**methods, f"{model.method}, black level {LANDSAT_BLACK_LEVEL:g}": np.nan_to_num(anchored)}
        _row_figure(ctx.out_dir / f"{ctx.task}_real_landsat.png", [(LANDSAT, shown, valid)])
        seam_figure(ctx.out_dir / f"{ctx.task}_seams_landsat.png", hazy, tiled, whole, (lo, hi),
                    (card_tile.default_size, card_tile.overlap))
    return result


def aerial(ctx: CheckContext, tmp: Path) -> dict:
    """The real hazy aerial photos: small tiles against a single tile, and colour."""
    model, card_tile = ctx.model, ctx.model.card.tile
    names = sorted(p for p in (ctx.data_root / REAL_AERIAL_DIR).iterdir() if p.suffix.lower() == ".jpg")
    if ctx.limit:
        names = [n for n in names if n.name in AERIAL_FIGURE][: ctx.limit]
    per_image, rows = {}, []
    for name in names:
        image = gdal.Open(str(name)).ReadAsArray().astype(np.float32)
        tiled, _ = _timed(model, name, tmp / f"{name.stem}.tif", tile_size=AERIAL_TILE)
        single = single_tile_size(card_tile, *image.shape[1:])
        whole, _ = _timed(model, name, tmp / f"{name.stem}_whole.tif", tile_size=single)
        valid = np.ones(image.shape[1:], bool)
        unit = float(np.percentile(image, 99.5))
        methods = {INPUT_METHOD: image, **_baselines(ctx.task, image, 0.0, 255.0)}
        per_image[name.stem] = {
            "seams_small_tiles_vs_single": tile_dependence(tiled, whole, (0.0, 255.0)),
            "chroma": {m: chroma(a, valid, unit) for m, a in {**methods, model.method: whole}.items()},
        }
        if name.name in AERIAL_FIGURE:
            rows.append((name.stem, {**methods, model.method: tiled}, valid))
    if ctx.figures and rows:
        _row_figure(ctx.out_dir / f"{ctx.task}_real_aerial.png", rows)
    seams = [v["seams_small_tiles_vs_single"] for v in per_image.values()]
    return {"images": len(per_image), "tile_size": AERIAL_TILE,
            "max_seam_max_abs": max(s["max_abs"] for s in seams),
            "mean_seam_mean_abs": round(float(np.mean([s["mean_abs"] for s in seams])), 5),
            "chroma_mean": chroma_summary(per_image), "per_image": per_image}  # fmt: skip


def real_hazy_scenes(ctx: CheckContext) -> CheckResult:
    """Both real sets (where the data are there), for a red, green, blue model."""
    if ctx.model.bands != RGB:
        return CheckResult("real", {}, f"### Real hazy scenes\n\nThe real scenes are RGB; the model takes "
                           f"{', '.join(ctx.model.bands)}: skipped.\n\n")  # fmt: skip
    out, names = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        if (ctx.data_root / LANDSAT_HAZY).is_file():
            out[LANDSAT] = landsat(ctx, Path(tmp))
            names += ["real_landsat", "seams_landsat"]
        if (ctx.data_root / REAL_AERIAL_DIR).is_dir():
            out["real_hazy_aerial"] = aerial(ctx, Path(tmp))
            names += ["real_aerial"]
    figures = tuple(ctx.out_dir / f"{ctx.task}_{n}.png" for n in names) if ctx.figures else ()
    return CheckResult("real", out, _markdown(out, ctx.model.method), figures)


def _markdown(out: dict, model: str) -> str:
    lines = ["### Real hazy scenes at full resolution (no reference)", "",
             "| scene | tiled vs single tile: mean / p99 / max abs. difference / range | method | R/G | "
             "B/G | dark objects R, G, B | crushed |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for scene, result in out.items():
        if "seams_vs_single_tile" in result:
            s = result["seams_vs_single_tile"]
            seam = f"{s['mean_abs']:.5f} / {s['p99_abs']:.4f} / {s['max_abs']:.4f}"
        else:
            seam = f"{result['mean_seam_mean_abs']:.5f} / - / {result['max_seam_max_abs']:.4f}"
        chromas = result.get("chroma") or result["chroma_mean"]
        for i, (method, c) in enumerate(chromas.items()):
            dark = ", ".join(f"{v:.2f}" for v in c["dark_rgb"])
            first = (scene, seam) if i == 0 else ("", "")
            cells = f"{c['r_over_g']:.3f} | {c['b_over_g']:.3f} | {dark} | {100 * c['crushed']:.2f} %"
            lines.append(f"| {first[0]} | {first[1]} | {method} | {cells} |")
    if LANDSAT in out:
        black = out[LANDSAT]["chroma_black_level"]
        c, dark = black["model"], ", ".join(f"{v:.2f}" for v in black["model"]["dark_rgb"])
        below = "; ".join(f"{m} {100 * v:.1f} %" for m, v in black["below_black_ground"].items())
        lines += ["", f"{model} on {LANDSAT} with black level {black['black_level']:g}: R/G "
                  f"{c['r_over_g']:.3f}, B/G {c['b_over_g']:.3f}, dark objects {dark}. Valid pixels with a "
                  f"band below black ground: {below}."]  # fmt: skip
    lines += ["", "Aerial photos: means over the images, seams as the mean of the means and the largest max "
              "(no p99)."]
    return "\n".join([*lines, "", ""])


def _row_figure(path: Path, rows: list[tuple[str, dict[str, np.ndarray], np.ndarray]]) -> Path:
    """One row per scene, one column per method, one common stretch (0.5-99.5 % of the row's valid
    pixels), so contrast gains show; fill white."""
    grid = []
    for r, (_, images, valid) in enumerate(rows):
        stretch = common_stretch([np.nan_to_num(a) for a in images.values()], valid)
        grid.append([Panel(a, m if r == 0 else "", stretch, valid) for m, a in images.items()])
    return panel_grid(path, grid, row_labels=[name for name, _, _ in rows], cell=(4, 4), dpi=80)


def seam_figure(path: Path, hazy: np.ndarray, tiled: np.ndarray, whole: np.ndarray,
                stretch: tuple[float, float], tiling: tuple[int, int],
                window: tuple[int, int, int] = (640, 640, 512)) -> Path:  # fmt: skip
    """Full-resolution crop across a tile corner: hazy, tiled result, |tiled - single tile|.

    With ``tiling`` = (tile, overlap), tiles start every ``tile - overlap`` px from ``-overlap``: for
    640/160 overlaps span 800-960 px, inside the default window."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y0, x0, n = window
    crop = (slice(None), slice(y0, y0 + n), slice(x0, x0 + n))
    lo, hi = stretch
    out_lo, out_hi = np.nanpercentile(tiled[crop], [0.5, 99.5])
    diff = np.abs(np.nan_to_num(tiled[crop] - whole[crop])).max(axis=0) / (hi - lo)
    fig, axes = plt.subplots(1, 3, figsize=(15, 5.2))
    axes[0].imshow(Panel(hazy[crop], stretch=(lo, hi)).display())
    axes[1].imshow(Panel(tiled[crop], stretch=(out_lo, out_hi)).display())
    shown = axes[2].imshow(diff, cmap="magma", vmin=0, vmax=0.05)  # saturates above 5 % of the stretch
    fig.colorbar(shown, ax=axes[2], fraction=0.046)
    titles = ("input (full resolution)", f"model, {tiling[0]} px tiles, {tiling[1]} px overlap",
              "|tiled - single tile| / input stretch (0-0.05)")  # fmt: skip
    for ax, title in zip(axes, titles, strict=True):
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
