"""Measure the shipped dehaze model against the dark channel prior and the hazy input.

Three measurements, all written to ``docs/figures/dehaze_metrics.json`` (and figures beside it):

1. ``synthetic_test``: every whole test block of the seeded spatial split of the clean training
   scenes, hazed with the training synthesis and a fixed seed (the same draw as
   ``training.data.recipes.test_degradations``); PSNR/SSIM in the scene's unit domain. ``clear``:
   the same blocks without haze, which a dehazer should return unchanged; ``band_gain``: the same
   pairs with fixed per-band gains (0.5-2, as another product balances its bands); ``rs_recipe``:
   the same blocks hazed by the RS-Haze benchmark's recipe (``training.synthesis.rs_haze``).
2. ``rs_haze``: the RS-Haze sample pair (Landsat-8 tile 00215, the model's bands, e.g. 4/3/2, as
   16-bit PNGs, haze by the RS-Haze authors' own synthesis, variants ``max`` and ``minmax``), whole
   tile and the tile's
   held-out test block (the clean tile is one of the training scenes); variant ``none`` feeds the
   clean tile itself, which a dehazer should return unchanged; and the model at lower strengths.
3. ``real``: real hazy scenes restored at full resolution through ``backend.pipeline.restore``
   (default tiling) and, for seams, once more as a single tile; the Landsat-8 L1 scene also with
   its black level (``chroma_black_level``); figures ``dehaze_real_landsat.png``,
   ``dehaze_real_aerial.png``. A blue, green, red, NIR model runs instead on the Landsat-8 L1 scene
   with thin cloud (bands 2-5; ``dehaze_real_multispectral.png``), and is also scored on the
   true-colour bands of 1. and 2. beside the shipped RGB model run on those bands alone.

    .venv/bin/python scripts/eval_dehaze_hsmr.py --model resources/models/dehaze-hsmr-lite.onnx
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from osgeo import gdal

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from backend.normalization import compute_stats, context_vector, denormalize, normalize  # noqa: E402
from backend.package import read_card  # noqa: E402
from training.baselines.dcp import dark_channel_dehaze as dark_channel_prior  # noqa: E402
from training.data.scenes import BGRN, CLEAN_SCENES, RGB, load_scenes, scene_blocks  # noqa: E402
from training.data.split import split_scene  # noqa: E402
from training.evaluate import restore_file, single_tile_size, tile_dependence  # noqa: E402
from training.metrics import colour_cast, crushed_share, psnr, ssim  # noqa: E402
from training.synthesis.band_gain import draw_band_gains  # noqa: E402
from training.synthesis.haze import CIRRUS_DIR, HazeConfig, synthesize_haze  # noqa: E402
from training.synthesis.rs_haze import RSHazeConfig, synthesize_rs_haze  # noqa: E402

gdal.UseExceptions()

RS_HAZE = "remote_sensing/rs_haze_sample"
LANDSAT_HAZY = "remote_sensing/landsat8_l1_hazy_224078/LC08_L1TP_224078_20200518_20200518_01_RT.TIF"
#: Its digital number of zero reflectance, -REFLECTANCE_ADD / REFLECTANCE_MULT = 0.1 / 2e-5 in every
#: band (the USGS constants of every Landsat-8 Collection-1 L1 product): the run with --black-level.
LANDSAT_BLACK_LEVEL = 5000.0
#: Landsat-8 L1 subset with thin cloud and haze, one file per band (``l8_B2.tif`` ...).
LANDSAT_CLOUDY = "remote_sensing/landsat8_l1_cloudy"
AERIAL = "remote_sensing/real_hazy_aerial"
#: The shipped RGB model, which a multispectral model is compared with on its true-colour bands.
RGB_MODEL = REPO_ROOT / "resources/models/dehaze-hsmr-lite.onnx"
#: The aerial photos (600-800 px) are run with tiles this small so that they are tiled at all.
AERIAL_TILE = 384
AERIAL_FIGURE = ("AID_farmland_265.jpg", "AID_denseresidential_65.jpg", "DIOR_TEST_12035.jpg")


# ---------------------------------------------------------------------------------------------
# The two methods, on (C, H, W) float arrays in any unit.
# ---------------------------------------------------------------------------------------------
class HSMR:
    """The model package run the way the engine runs one tile: whole-image statistics (the stretch and,
    when the card declares one, the scene context), ORT, inverse."""

    def __init__(self, path: Path) -> None:
        import onnxruntime as ort

        self.card = read_card(path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input, self.output = self.card.inputs[0], self.card.outputs[0]
        self.bands = self.input.bands

    def __call__(self, hazy: np.ndarray) -> np.ndarray:
        norm, context = self.input.normalization, self.input.context
        stats = compute_stats(hazy, norm, context=context)
        feeds = {self.input.name: normalize(hazy, norm, stats)[None]}
        if context is not None:  # the scene context of the whole image, as the engine computes it
            feeds[context.name] = context_vector(norm, stats, hazy.shape[0])[None]
        y = self.session.run([self.output.name], feeds)[0][0]
        return denormalize(y, norm, stats, self.output.range, np.float32)


def scores(pred: np.ndarray, target: np.ndarray) -> dict:
    """PSNR, SSIM, the colour cast (degrees between mean colours) against the clean reference, the
    share of pixels crushed to black (a band at or below 0.001), and the PSNR of each band."""
    pred = np.clip(pred, 0, 1)
    return {"psnr": round(psnr(pred, target), 2), "ssim": round(ssim(pred, target), 4),
            "cast": round(colour_cast(pred, target), 2),
            "crushed": round(crushed_share(pred, 1e-3), 4),
            "psnr_bands": [round(psnr(p, t), 2) for p, t in zip(pred, target, strict=True)]}  # fmt: skip


def rgb_view(image: np.ndarray, bands: tuple[str, ...], order: tuple[str, ...] = RGB) -> np.ndarray:
    """The bands ``order`` (default red, green, blue: a true-colour view) of a (C, H, W) image."""
    return image[[bands.index(b) for b in order]]


def mean_scores(rows: list[dict], methods: tuple[str, ...] = ("hazy", "dcp", "hsmr")) -> dict:
    out = {}
    digits = {"psnr": 2, "ssim": 4, "cast": 2, "crushed": 4}
    for method in methods:
        out[method] = {k: round(float(np.mean([r[method][k] for r in rows])), d) for k, d in digits.items()}
    return out


# ---------------------------------------------------------------------------------------------
# 1. Held-out synthetic test regions
# ---------------------------------------------------------------------------------------------
def rgb_bands(model: HSMR, rgb_model: HSMR, hazy: np.ndarray, methods: dict, clean: np.ndarray) -> dict:
    """Scores on the true-colour bands of a multispectral model's inputs, with the RGB model run on
    those bands alone: what a user of a 4-band raster would get with ``--bands`` and the RGB model."""
    truth = rgb_view(clean, model.bands)
    out = {m: scores(rgb_view(a, model.bands), truth) for m, a in methods.items()}
    out["rgb_model"] = scores(rgb_model(rgb_view(hazy, model.bands)), truth)
    return out


@dataclass(frozen=True)
class HeldOutRegion:
    """One held-out test block: its clean image, the training synthesis's haze over it (``hazy``),
    and the RS-Haze recipe's pair over it (``rs_hazy``, ``rs_clean``: that recipe rescales both)."""

    name: str
    index: int
    clean: np.ndarray
    hazy: np.ndarray
    rs_hazy: np.ndarray
    rs_clean: np.ndarray


def held_out_regions(root: Path, bands: tuple[str, ...], seed: int = 0) -> Iterator[HeldOutRegion]:
    """Every whole test block of the seeded split of the clean scenes, hazed with fixed seeds."""
    config = HazeConfig(cirrus_dir=str(root / CIRRUS_DIR))
    rs_config = RSHazeConfig(cirrus_dir=str(root / CIRRUS_DIR))
    for _, i, name, clean in scene_blocks(load_scenes(CLEAN_SCENES, root, bands), "test"):
        deg = synthesize_haze({"optical": clean}, np.random.default_rng([seed, i, 3]), config, bands)
        rs = synthesize_rs_haze({"optical": clean}, np.random.default_rng([seed, i, 11]), rs_config, bands)
        yield HeldOutRegion(name, i, clean, deg.inputs["optical"], rs.inputs["optical"], rs.target)


def synthetic_test(
    model: HSMR, root: Path, seed: int = 0, rgb_model: HSMR | None = None
) -> tuple[dict, list]:
    rows, examples = [], []
    for region in held_out_regions(root, model.bands, seed):
        clean, hazy = region.clean, region.hazy
        restored, dcp = model(hazy), dark_channel_prior(hazy)
        # the same pair as a product with other per-band gains records it
        gains = draw_band_gains(np.random.default_rng([seed, region.index, 7]), len(clean))
        row = {"region": region.name, "hazy": scores(hazy, clean),
               "dcp": scores(dcp, clean), "hsmr": scores(restored, clean),
               # the haze-free region itself: a dehazer should return it unchanged
               "clear": {"dcp": scores(dark_channel_prior(clean), clean),
                         "hsmr": scores(model(clean), clean)},
               "band_gain": {"gains": [round(float(g), 3) for g in gains[:, 0, 0]],
                             "hazy": scores(hazy * gains, clean * gains),
                             "dcp": scores(dark_channel_prior(hazy * gains), clean * gains),
                             "hsmr": scores(model(hazy * gains), clean * gains)}}  # fmt: skip
        # the same region hazed by the RS-Haze benchmark's recipe (a bright, warm airlight)
        rs_hazy, rs_clean = region.rs_hazy, region.rs_clean
        row["rs_recipe"] = {"hazy": scores(rs_hazy, rs_clean),
                            "dcp": scores(dark_channel_prior(rs_hazy), rs_clean),
                            "hsmr": scores(model(rs_hazy), rs_clean)}  # fmt: skip
        if rgb_model is not None:
            methods = {"hazy": hazy, "dcp": dcp, "hsmr": restored}
            row["rgb_bands"] = rgb_bands(model, rgb_model, hazy, methods, clean)
        rows.append(row)
        views = (rgb_view(a, model.bands) for a in (hazy, dcp, restored, clean))
        examples.append((row["region"], *views))
    summary = {"regions": len(rows), "mean": mean_scores(rows),
               "clear_mean": mean_scores([r["clear"] for r in rows], ("dcp", "hsmr")),
               "band_gain_mean": mean_scores([r["band_gain"] for r in rows]),
               "rs_recipe_mean": mean_scores([r["rs_recipe"] for r in rows]), "per_region": rows}
    if rgb_model is not None:
        summary["rgb_bands_mean"] = mean_scores([r["rgb_bands"] for r in rows],
                                                ("hazy", "dcp", "hsmr", "rgb_model"))
    return summary, examples


# ---------------------------------------------------------------------------------------------
# 2. RS-Haze sample pair
# ---------------------------------------------------------------------------------------------
#: Strengths (``restore(strength=...)``) measured on the RS-Haze tile besides the full model.
STRENGTHS = (0.75, 0.5, 0.25)


#: Landsat-8 OLI band numbers, as RS-Haze names its files.
LANDSAT8_BAND = {"coastal": 1, "blue": 2, "green": 3, "red": 4, "nir": 5, "swir1": 6, "swir2": 7}


def _read_png(folder: Path, stem: str, bands: tuple[str, ...]) -> np.ndarray:
    arrays = [gdal.Open(str(folder / f"{stem}_B{LANDSAT8_BAND[b]}.png")).ReadAsArray() for b in bands]
    return np.stack(arrays).astype(np.float32) / 65535.0


#: The RS-Haze sample's two hazy versions of tile 00215: a moderate tinted haze and a light one.
RS_HAZE_VARIANTS = ("max", "minmax")


def rs_haze_tile(root: Path, bands: tuple[str, ...]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The clean RS-Haze tile 00215 and its hazy versions by variant, in ``bands``, on [0, 1]."""
    base = root / RS_HAZE
    clean = _read_png(base / "data" / "00215" / "00215", "00215", bands)
    stems = {variant: f"00215_0_0.5020_{variant}" for variant in RS_HAZE_VARIANTS}
    return clean, {v: _read_png(base / "result" / "00215" / stem, stem, bands) for v, stem in stems.items()}


def rs_haze(model: HSMR, root: Path, rgb_model: HSMR | None = None) -> dict:
    clean, hazy_by_variant = rs_haze_tile(root, model.bands)
    test = split_scene("rs_haze_00215", *clean.shape[1:])["test"]
    out = {"test_blocks": [[b.y0, b.y1, b.x0, b.x1] for b in test]}
    # "none" feeds the clean tile itself: a haze-free input should come back unchanged
    for variant, hazy in {**hazy_by_variant, "none": clean}.items():
        restored, dcp = model(hazy), dark_channel_prior(hazy)
        methods = (("dcp", dcp), ("hsmr", restored))
        if variant != "none":  # with no haze the input is the reference itself
            methods = (("hazy", hazy), *methods)
        entry = {"whole_tile": {m: scores(a, clean) for m, a in methods}}
        if rgb_model is not None:
            entry["whole_tile_rgb_bands"] = rgb_bands(model, rgb_model, hazy, dict(methods), clean)
        for b in test:
            crop = (slice(None), slice(b.y0, b.y1), slice(b.x0, b.x1))
            entry[f"test_block_y{b.y0}_x{b.x0}"] = {
                m: scores(a[crop], clean[crop]) for m, a in methods
            }
        # The Strength option: input + s (output - input), the blend the engine applies per tile.
        entry["whole_tile_strength"] = {
            str(s): scores(hazy + s * (restored - hazy), clean) for s in STRENGTHS
        }
        out[variant] = entry
    return out


# ---------------------------------------------------------------------------------------------
# 3. Real hazy scenes through the engine
# ---------------------------------------------------------------------------------------------
def _restore(
    model_path: Path, source: Path, out: Path, tile_size: int | None = None, black_level: float = 0.0
) -> tuple[np.ndarray, float]:
    began = time.perf_counter()
    array, _ = restore_file("dehaze", model_path, {"optical": source}, out, tile_size=tile_size, device="cpu",
                            black_level=black_level)  # fmt: skip
    return array, time.perf_counter() - began


def _chroma(image: np.ndarray, valid: np.ndarray, unit: float) -> dict:
    """Mean red/green and blue/green ratios, the dark objects' colour, and the crushed share.

    The ratios move with a colour cast, but also when a tinted haze is removed. The darkest 1 %
    of the pixels (water, shadow: near-black on the ground) keep whatever path radiance is left,
    so their red, green, blue (in units of ``unit``, the input's 99.5th percentile) show a residual
    bluish haze that the means hide (dark-object subtraction, Chavez 1988). ``crushed`` is the share
    of valid pixels with a band at or below 0.2 % of ``unit``: shadows clipped to black.
    """
    r, g, b = (float(image[c][valid].mean()) for c in range(3))
    lum = image.mean(axis=0)
    dark = valid & (lum <= np.percentile(lum[valid], 1))
    dark_rgb = [round(float(image[c][dark].mean()) / unit, 3) for c in range(3)]
    return {"r_over_g": round(r / g, 3), "b_over_g": round(b / g, 3), "dark_rgb": dark_rgb,
            "crushed": round(crushed_share(image, 0.002 * unit, valid), 4)}


def real_scenes(model_path: Path, root: Path, figures: Path, aerial_limit: int | None = None) -> dict:
    """Full-resolution runs through the engine: default tiling vs one single tile, and colour."""
    results = {}
    card_tile = read_card(model_path).tile
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # Landsat-8 stack is blue, green, red with 0 as fill but no nodata flag: say so in a VRT.
        vrt = tmp / "landsat_rgb.vrt"
        gdal.Translate(str(vrt), str(root / LANDSAT_HAZY), format="VRT", bandList=[3, 2, 1], noData=0)
        hazy = gdal.Open(str(vrt)).ReadAsArray().astype(np.float32)
        valid = (hazy > 0).all(axis=0)
        tiled, seconds = _restore(model_path, vrt, tmp / "landsat_tiled.tif")
        single = single_tile_size(card_tile, *valid.shape)
        whole, _ = _restore(model_path, vrt, tmp / "landsat_whole.tif", single)
        lo, hi = np.percentile(hazy[:, valid], [0.5, 99.5])
        unit = np.where(valid, (hazy - lo) / (hi - lo), np.nan)
        dcp = dark_channel_prior(np.nan_to_num(np.clip(unit, 0, 1), nan=0.0)) * (hi - lo) + lo
        results["landsat8_l1_hazy_224078"] = {
            "size": list(hazy.shape[1:]),
            "seconds_tiled": round(seconds, 1),
            "seams_vs_single_tile": tile_dependence(tiled[:, valid], whole[:, valid], (lo, hi)),
            "chroma": {m: _chroma(a, valid, hi) for m, a in (("hazy", hazy), ("hsmr", tiled), ("dcp", dcp))},
        }
        anchored, _ = _restore(model_path, vrt, tmp / "landsat_black_level.tif",
                               black_level=LANDSAT_BLACK_LEVEL)
        # Valid pixels that read back as nodata (NaN): none, as the engine writes a result equal to
        # nodata one step inward; counted so that a regression shows.
        valid_anchored = valid & np.isfinite(anchored).all(axis=0)
        results["landsat8_l1_hazy_224078"]["chroma_black_level"] = {
            "black_level": LANDSAT_BLACK_LEVEL, "hsmr": _chroma(anchored, valid_anchored, hi),
            "pixels_at_nodata": int((valid & ~valid_anchored).sum()),
            # share of valid pixels with a band below black ground (a negative reflectance)
            "below_black_ground": {
                m: round(float((a[:, valid] < LANDSAT_BLACK_LEVEL).any(axis=0).mean()), 4)
                for m, a in (("hazy", hazy), ("dcp", dcp), ("hsmr", tiled), ("hsmr_black_level", anchored))
            }}
        _figure(figures / "dehaze_real_landsat.png",
                [("landsat8_l1_hazy_224078", hazy, dcp, tiled, np.nan_to_num(anchored), valid)],
                extra=(f"HSMR-Net, black level {LANDSAT_BLACK_LEVEL:g}",))
        _seam_figure(figures / "dehaze_seams_landsat.png", hazy, tiled, whole, (lo, hi),
                     (card_tile.default_size, card_tile.overlap))

        panels, aerial = [], {}
        names = sorted(p for p in (root / AERIAL).iterdir() if p.suffix.lower() == ".jpg")
        if aerial_limit:
            names = [n for n in names if n.name in AERIAL_FIGURE][:aerial_limit]
        for name in names:
            image = gdal.Open(str(name)).ReadAsArray().astype(np.float32)
            tiled_a, _ = _restore(model_path, name, tmp / f"{name.stem}.tif", tile_size=AERIAL_TILE)
            single = single_tile_size(card_tile, *image.shape[1:])
            whole_a, _ = _restore(model_path, name, tmp / f"{name.stem}_whole.tif", tile_size=single)
            dcp_a = dark_channel_prior(image / 255.0) * 255.0
            valid_a = np.ones(image.shape[1:], bool)
            unit_a = float(np.percentile(image, 99.5))
            aerial[name.stem] = {
                "seams_small_tiles_vs_single": tile_dependence(tiled_a, whole_a, (0.0, 255.0)),
                "chroma": {m: _chroma(a, valid_a, unit_a)
                           for m, a in (("hazy", image), ("hsmr", whole_a), ("dcp", dcp_a))},
            }  # fmt: skip
            if name.name in AERIAL_FIGURE:
                panels.append((name.stem, image, dcp_a, tiled_a, valid_a))
        results["real_hazy_aerial"] = {
            "images": len(aerial),
            "tile_size": AERIAL_TILE,
            "max_seam_max_abs": max(v["seams_small_tiles_vs_single"]["max_abs"] for v in aerial.values()),
            "mean_seam_mean_abs": round(float(np.mean([v["seams_small_tiles_vs_single"]["mean_abs"]
                                                       for v in aerial.values()])), 5),
            "chroma_mean": _chroma_summary(aerial),
            "per_image": aerial,
        }  # fmt: skip
        _figure(figures / "dehaze_real_aerial.png", panels)
    return results


def real_multispectral(model_path: Path, root: Path, figures: Path) -> dict:
    """A blue, green, red, NIR model on the real Landsat-8 L1 scene with thin cloud and haze (bands
    2-5), through the engine with its black level: small tiles vs one single tile, the colour and
    dark objects of its true-colour bands, and the shipped RGB model on those bands alongside."""
    results = {}
    card_tile = read_card(model_path).tile
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files = [str(root / LANDSAT_CLOUDY / f"l8_B{LANDSAT8_BAND[b]}.tif") for b in BGRN]
        vrt, rgb_vrt = tmp / "bgrn.vrt", tmp / "rgb.vrt"
        gdal.BuildVRT(str(vrt), files, separate=True)
        gdal.Translate(str(rgb_vrt), str(vrt), format="VRT", bandList=[3, 2, 1])
        hazy = gdal.Open(str(vrt)).ReadAsArray().astype(np.float32)
        valid = np.ones(hazy.shape[1:], bool)
        level = LANDSAT_BLACK_LEVEL
        tiled, seconds = _restore(model_path, vrt, tmp / "tiled.tif", AERIAL_TILE, level)
        single = single_tile_size(card_tile, *valid.shape)
        whole, _ = _restore(model_path, vrt, tmp / "whole.tif", single, level)
        rgb, _ = _restore(RGB_MODEL, rgb_vrt, tmp / "rgb.tif", AERIAL_TILE, level)
        lo, hi = np.percentile(hazy, [0.5, 99.5])
        dcp = dark_channel_prior(np.clip((hazy - lo) / (hi - lo), 0, 1)) * (hi - lo) + lo
        true = {m: rgb_view(a, BGRN) for m, a in (("hazy", hazy), ("dcp", dcp), ("hsmr", tiled))}
        true["hsmr_rgb_model"] = rgb
        unit = float(np.percentile(true["hazy"], 99.5))
        nir = BGRN.index("nir")
        results["landsat8_l1_cloudy"] = {
            "size": list(hazy.shape[1:]), "black_level": level, "tile_size": AERIAL_TILE,
            "seconds_tiled": round(seconds, 1),
            "seams_vs_single_tile": tile_dependence(tiled, whole, (lo, hi)),
            "chroma": {m: _chroma(a, valid, unit) for m, a in true.items()},
            # NIR: its 1st percentile (water) and its mean relative to red, before and after
            "nir": {m: {"dark": round(float(np.percentile(a[nir], 1)) / unit, 3),
                        "over_red": round(float(a[nir].mean() / a[BGRN.index("red")].mean()), 3)}
                    for m, a in (("hazy", hazy), ("dcp", dcp), ("hsmr", tiled))},
        }  # fmt: skip
        false = [rgb_view(a, BGRN, ("nir", "red", "green")) for a in (hazy, dcp, tiled)]
        _figure(figures / "dehaze_real_multispectral.png",
                [("true colour (4-3-2)", *(true[m] for m in ("hazy", "dcp", "hsmr", "hsmr_rgb_model")),
                  valid),
                 ("false colour (5-4-3)", *false, None, valid)],
                extra=("RGB model (1.1.0) on bands 4-3-2",))
    return results


def _chroma_summary(per_image: dict) -> dict:
    """Per method, over the images: mean R/G, B/G, dark-object colour and crushed share, and the mean
    |change| of R/G plus B/G against the hazy input (which removing a tinted haze also moves)."""
    rows = [v["chroma"] for v in per_image.values()]
    out = {}
    for method in ("hazy", "hsmr", "dcp"):
        ratios = np.array([[r[method]["r_over_g"], r[method]["b_over_g"]] for r in rows])
        hazy = np.array([[r["hazy"]["r_over_g"], r["hazy"]["b_over_g"]] for r in rows])
        dark = np.array([r[method]["dark_rgb"] for r in rows])
        crushed = [r[method]["crushed"] for r in rows]
        out[method] = {
            "r_over_g": round(float(ratios[:, 0].mean()), 3),
            "b_over_g": round(float(ratios[:, 1].mean()), 3),
            "dark_rgb": [round(float(v), 3) for v in dark.mean(axis=0)],
            "shift_vs_hazy": round(float(np.abs(ratios - hazy).sum(axis=1).mean()), 3),
            "crushed": round(float(np.mean(crushed)), 4),
        }
    return out


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------
def _display(image: np.ndarray, stretch: tuple[float, float], valid: np.ndarray) -> np.ndarray:
    lo, hi = stretch
    out = np.clip((np.nan_to_num(image) - lo) / (hi - lo), 0, 1).transpose(1, 2, 0)
    out[~valid] = 1.0
    return out


def _figure(path: Path, rows: list, extra: tuple[str, ...] = ()) -> None:
    """One row per scene: hazy | DCP | HSMR-Net (| ``extra`` columns: clean, another run), every
    column of a row shown with one common linear stretch (lowest 0.5 % to highest 99.5 % of the
    row), so contrast gains show. A ``None`` image leaves its cell empty."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = ["hazy input", "dark channel prior", "HSMR-Net (ours)", *extra]
    size = (4 * len(columns), 4 * len(rows))
    fig, axes = plt.subplots(len(rows), len(columns), figsize=size, squeeze=False)
    for r, row in enumerate(rows):
        name, images, valid = row[0], row[1:-1], row[-1]
        shown = [i for i in images if i is not None]
        bounds = np.array([np.percentile(np.nan_to_num(i)[:, valid], [0.5, 99.5]) for i in shown])
        lo, hi = bounds[:, 0].min(), bounds[:, 1].max()
        for c, image in enumerate(images):
            if image is None:
                axes[r, c].axis("off")
            else:
                axes[r, c].imshow(_display(image, (lo, hi), valid))
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
            if r == 0:
                axes[r, c].set_title(columns[c])
        axes[r, 0].set_ylabel(name, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _seam_figure(path: Path, hazy: np.ndarray, tiled: np.ndarray, whole: np.ndarray,
                 stretch: tuple[float, float], tiling: tuple[int, int],
                 window: tuple[int, int, int] = (640, 640, 512)) -> None:
    """Full-resolution crop across a tile corner: hazy, tiled result, |tiled - single tile|.

    With ``tiling`` = (tile, overlap), tiles start every ``tile - overlap`` px from ``-overlap``: for
    512/64 overlaps span 832-896 px, for 640/160 800-960 px, both inside the default window."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y0, x0, n = window
    crop = (slice(None), slice(y0, y0 + n), slice(x0, x0 + n))
    lo, hi = stretch
    out_lo, out_hi = np.nanpercentile(tiled[crop], [0.5, 99.5])
    diff = np.abs(np.nan_to_num(tiled[crop] - whole[crop])).max(axis=0) / (hi - lo)
    fig, axes = plt.subplots(1, 3, figsize=(15, 5.2))
    axes[0].imshow(np.clip((hazy[crop] - lo) / (hi - lo), 0, 1).transpose(1, 2, 0))
    axes[1].imshow(np.clip((tiled[crop] - out_lo) / (out_hi - out_lo), 0, 1).transpose(1, 2, 0))
    shown = axes[2].imshow(diff, cmap="magma", vmin=0, vmax=0.05)  # saturates above 5 % of the stretch
    fig.colorbar(shown, ax=axes[2], fraction=0.046)
    titles = ("hazy input (full resolution)", f"HSMR-Net, {tiling[0]} px tiles, {tiling[1]} px overlap",
              "|tiled - single tile| / input stretch (0-0.05)")  # fmt: skip
    for ax, title in zip(axes, titles, strict=True):
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def synthetic_figure(path: Path, examples: list, count: int = 3) -> None:
    picks = [examples[i] for i in np.linspace(0, len(examples) - 1, count).astype(int)]
    rows = [(name, hazy, dcp, restored, clean, np.ones(clean.shape[1:], bool))
            for name, hazy, dcp, restored, clean in picks]  # fmt: skip
    _figure(path, rows, extra=("clean",))


def card_metrics(results: dict) -> dict:
    """The summary the model card carries: mean PSNR/SSIM per test set and method."""
    out = {
        "protocol": ("scripts/eval_dehaze_hsmr.py; PSNR/SSIM on [0, 1]; cast = degrees between mean colours; "
                     "crushed = share of pixels with a band <= 0.001; dcp = training/baselines/dcp.py"),
        "synthetic_test": results["synthetic_test"]["mean"],
        "synthetic_test_regions": results["synthetic_test"]["regions"],
        "synthetic_clear": results["synthetic_test"]["clear_mean"],
        "synthetic_band_gain": results["synthetic_test"]["band_gain_mean"],
        "synthetic_rs_recipe": results["synthetic_test"]["rs_recipe_mean"],
    }
    for variant in ("max", "minmax", "none"):
        out[f"rs_haze_{variant}"] = results["rs_haze"][variant]["whole_tile"]
    if "rgb_bands_mean" in results["synthetic_test"]:  # a multispectral model: its true-colour bands
        out["synthetic_test_rgb_bands"] = results["synthetic_test"]["rgb_bands_mean"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=REPO_ROOT / "resources/models/dehaze-hsmr-lite.onnx")
    parser.add_argument("--data", type=Path, default=REPO_ROOT.parent / "shared" / "data")
    parser.add_argument("--figures", type=Path, default=REPO_ROOT / "docs" / "figures")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "figures" / "dehaze_metrics.json")
    parser.add_argument("--skip-real", action="store_true", help="only the paired measurements")
    parser.add_argument("--aerial-limit", type=int, help="only the first N figure images (quick check)")
    parser.add_argument("--card-metrics", type=Path, help="also write the summary for the model card here")
    args = parser.parse_args(argv)

    args.figures.mkdir(parents=True, exist_ok=True)
    model = HSMR(args.model)
    # a multispectral model is also compared on its true-colour bands with the RGB model
    rgb_model = HSMR(RGB_MODEL) if model.bands != RGB and set(RGB) <= set(model.bands) else None
    synthetic, examples = synthetic_test(model, args.data, rgb_model=rgb_model)
    print("synthetic test", json.dumps(synthetic["mean"]), flush=True)
    synthetic_figure(args.figures / "dehaze_synthetic.png", examples)
    results = {"model": args.model.name, "synthetic_test": synthetic,
               "rs_haze": rs_haze(model, args.data, rgb_model)}
    whole = {k: v["whole_tile"] for k, v in results["rs_haze"].items() if k != "test_blocks"}
    print("rs_haze", json.dumps(whole))
    if not args.skip_real and model.bands == RGB:
        results["real"] = real_scenes(args.model, args.data, args.figures, args.aerial_limit)
    elif not args.skip_real and model.bands == BGRN:  # the real RGB scenes have no NIR band
        results["real"] = real_multispectral(args.model, args.data, args.figures)
    if "real" in results:
        print("real", json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "per_image"}
                                  for k, v in results["real"].items()}))  # fmt: skip
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    if args.card_metrics:
        args.card_metrics.write_text(json.dumps(card_metrics(results), indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
