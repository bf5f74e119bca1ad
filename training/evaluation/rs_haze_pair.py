"""The RS-Haze sample pair: Landsat-8 tile 00215 and its two hazy versions by the RS-Haze authors.

The clean tile is also one of the training scenes, so besides the whole tile its held-out test
block (of the seeded spatial split) is scored on its own. Variant ``none`` feeds the clean tile
itself, which a dehazer should return unchanged; the model is also run at lower *Strength*
(``restore(strength=...)``: the engine keeps that share of the model's change).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from osgeo import gdal

from ..data.split import split_scene
from ..synthesis.base import Degradation
from .base import CheckContext, CheckResult, run_methods, score_all

gdal.UseExceptions()

RS_HAZE = Path("remote_sensing") / "rs_haze_sample"
TILE = "00215"
#: The sample's two hazy versions of the tile: a moderate tinted haze and a light one.
VARIANTS = ("max", "minmax")
#: Strengths measured on the tile besides the full model.
STRENGTHS = (0.75, 0.5, 0.25)
#: Landsat-8 OLI band numbers, as RS-Haze names its files.
LANDSAT8_BAND = {"coastal": 1, "blue": 2, "green": 3, "red": 4, "nir": 5, "swir1": 6, "swir2": 7}


def _read_png(folder: Path, stem: str, bands: tuple[str, ...]) -> np.ndarray:
    arrays = [gdal.Open(str(folder / f"{stem}_B{LANDSAT8_BAND[b]}.png")).ReadAsArray() for b in bands]
    return np.stack(arrays).astype(np.float32) / 65535.0


def rs_haze_tile(root: Path, bands: tuple[str, ...]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The clean tile and its hazy versions by variant, in ``bands``, on [0, 1] (16-bit PNGs)."""
    base = root / RS_HAZE
    clean = _read_png(base / "data" / TILE / TILE, TILE, bands)
    stems = {variant: f"{TILE}_0_0.5020_{variant}" for variant in VARIANTS}
    return clean, {v: _read_png(base / "result" / TILE / stem, stem, bands) for v, stem in stems.items()}


def rs_haze_sample(ctx: CheckContext) -> CheckResult:
    """Whole tile and held-out block of each variant, and the model's strengths on the whole tile."""
    if not (ctx.data_root / RS_HAZE / "data" / TILE).is_dir():
        return CheckResult("rs_haze", {}, f"### RS-Haze sample pair\n\nNot in {ctx.data_root}: skipped.\n\n")
    clean, hazy_by_variant = rs_haze_tile(ctx.data_root, ctx.model.bands)
    blocks = split_scene(f"rs_haze_{TILE}", *clean.shape[1:])["test"]
    out: dict = {"test_blocks": [[b.y0, b.y1, b.x0, b.x1] for b in blocks]}
    for variant, hazy in {**hazy_by_variant, "none": clean}.items():
        deg = Degradation({"optical": hazy}, clean)
        # with no haze the input is the reference itself
        results = run_methods(ctx, deg, with_input=variant != "none")
        entry = {"whole_tile": score_all(ctx.task, results, clean)}
        for b in blocks:
            crop = (slice(None), slice(b.y0, b.y1), slice(b.x0, b.x1))
            cropped = {m: r[crop] for m, r in results.items()}
            entry[f"test_block_y{b.y0}_x{b.x0}"] = score_all(ctx.task, cropped, clean[crop])
        blends = {str(s): ctx.model(hazy, strength=s) for s in STRENGTHS}
        entry["whole_tile_strength"] = score_all(ctx.task, blends, clean)
        out[variant] = entry
    return CheckResult("rs_haze", out, _markdown(out, ctx.model.method))


def _cell(scores: dict[str, float]) -> str:
    s = scores
    return f"{s['psnr']:.2f} / {s['ssim']:.3f} / {s['cast']:.1f} / {100 * s['crushed']:.1f} %"


def _markdown(out: dict, model: str) -> str:
    methods = list(out["max"]["whole_tile"])
    lines = [f"### RS-Haze sample pair (tile {TILE}, the RS-Haze authors' own haze)", "",
             "PSNR / SSIM / cast (deg) / crushed:", "",
             "| variant | region | " + " | ".join(methods) + " |",
             "|---|---|" + "---|" * len(methods)]  # fmt: skip
    for variant in (*VARIANTS, "none"):
        for region, scores in out[variant].items():
            if region == "whole_tile_strength":
                continue
            cells = [_cell(scores[m]) if m in scores else "(the reference)" for m in methods]
            lines.append(f"| {variant} | {region} | " + " | ".join(cells) + " |")
    lines += ["", f"{model} at lower strength, whole tile (PSNR / SSIM / cast / crushed):", "",
              "| variant | " + " | ".join(f"S = {s}" for s in STRENGTHS) + " |",
              "|---|" + "---|" * len(STRENGTHS)]
    for variant in (*VARIANTS, "none"):
        cells = [_cell(out[variant]["whole_tile_strength"][str(s)]) for s in STRENGTHS]
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    return "\n".join([*lines, "", ""])
