"""``python -m training realism``: synthetic degradations measured beside the real degraded scenes.

Missing data: the real Landsat-7 SLC-off scenes (``landsat7_slcoff_3dates``, nodata = gap) and
synthetic SLC-off masks (same size, 20 draws) are described by the same statistics: gap fraction,
gap width along image columns (median, 90th percentile) and the spacing between consecutive gaps
along a column (median). Prints a Markdown table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .readers import read_raster
from .synthesis.gaps import GapConfig, slc_off_mask

SLC_OFF_DIR = "remote_sensing/landsat7_slcoff_3dates"


def stripe_statistics(mask: np.ndarray, column_step: int = 25) -> dict[str, float]:
    """Gap fraction, width (median/p90) and start-to-start spacing of gap runs along columns."""
    widths: list[int] = []
    spacings: list[int] = []
    for c in range(0, mask.shape[1], column_step):
        edges = np.diff(np.r_[0, mask[:, c].astype(np.int8), 0])
        starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        widths += list(stops - starts)
        spacings += list(np.diff(starts))
    return {
        "gap_fraction": float(mask.mean()),
        "width_median": float(np.median(widths)) if widths else 0.0,
        "width_p90": float(np.percentile(widths, 90)) if widths else 0.0,
        "spacing_median": float(np.median(spacings)) if spacings else 0.0,
    }


def slc_off_comparison(root: Path, draws: int = 20, seed: int = 0) -> str:
    """Markdown table: each real SLC-off date beside the mean of ``draws`` synthetic masks."""
    rows = []
    shape = None
    for path in sorted((root / SLC_OFF_DIR).glob("*_B30.nc")):
        mask = np.isnan(read_raster(path)[0])
        shape = mask.shape
        rows.append((f"real {path.stem.split('_')[4]}", stripe_statistics(mask)))
    if shape is None:
        raise FileNotFoundError(f"no SLC-off scenes under {root / SLC_OFF_DIR}")
    rng = np.random.default_rng(seed)
    synthetic = [stripe_statistics(slc_off_mask(shape, rng, GapConfig())) for _ in range(draws)]
    rows.append(
        (f"synthetic (mean of {draws})", {k: float(np.mean([s[k] for s in synthetic])) for k in synthetic[0]})
    )
    lines = [
        "| mask | gap fraction | gap width median (px) | p90 (px) | gap spacing median (px) |",
        "|---|---|---|---|---|",
    ]
    for name, s in rows:
        cells = (s["gap_fraction"], s["width_median"], s["width_p90"], s["spacing_median"])
        lines.append(f"| {name} | {cells[0]:.3f} | " + " | ".join(f"{c:.1f}" for c in cells[1:]) + " |")
    return "\n".join(lines)


def _increments(image: np.ndarray, cloudy: np.ndarray, clear: np.ndarray) -> np.ndarray:
    """Mean of each band over ``cloudy`` pixels minus its mean over ``clear`` ones, over blue's."""
    rise = image[:, cloudy].mean(axis=1) - image[:, clear].mean(axis=1)
    return rise / rise[1]  # blue: the second of the real scene's bands


def cloud_comparison(root: Path, out_dir: Path | None = None, draws: int = 6, seed: int = 0) -> str:
    """Markdown table: how much brighter clouds are than clear ground in each band (relative to
    blue), in the real Landsat-8 scene (BQA classes, TOA reflectance) and in the synthesis over the
    Sentinel-2 scene (thick cores and thin veils against clear pixels). With ``out_dir``, also
    ``clouds_real_vs_synthetic.png``: the real scene with its QA classes beside synthetic draws."""
    from .data.real_scenes import REAL_SCENES, landsat8_bqa_classes
    from .data.scenes import CLEAN_SCENES
    from .synthesis.clouds import CloudConfig, synthesize_clouds

    scene = REAL_SCENES["landsat8_cloudy"]
    bands = tuple(scene.files)  # coastal, blue, green, red, nir, swir1, swir2, cirrus
    # L1 DN -> TOA reflectance (without the sun-elevation term, which scales every band alike).
    real = np.concatenate([read_raster(root / scene.files[b]) for b in bands]) * 2e-5 - 0.1
    classes = landsat8_bqa_classes(read_raster(root / scene.mask_file)[0])
    source = next(s for s in CLEAN_SCENES if s.name == "sentinel2_virginia")
    files = [(root / path, band) for path, band in source.band_files(bands)]
    from .readers import read_stack

    clean = np.clip(read_stack(files, resample=True)[:, 900:1156, 700:956] / 10000.0, 0.0, 1.0)
    rows = {"real: QA cloud (high confidence)": _increments(real, classes["cloud"], classes["clear"]),
            "real: QA cirrus only": _increments(real, classes["cirrus"], classes["clear"])}  # fmt: skip
    examples = {}
    for kind, thick in (("thick", 1.0), ("thin", 0.0)):
        config = CloudConfig(thick_probability=thick, clear_probability=0.0)
        found = []
        for k in range(draws):
            deg = synthesize_clouds({"optical": clean}, np.random.default_rng([seed, k]), config, bands)
            examples.setdefault(kind, deg)
            cloudy = deg.info["cover"] >= 1.0
            clear = (deg.info["cover"] == 0) & (deg.info["shadow"] == 0)
            if cloudy.any() and clear.any():
                found.append(_increments(deg.inputs["optical"], cloudy, clear))
        rows[f"synthetic: {kind} ({len(found)} draws)"] = np.mean(found, axis=0)
    lines = ["| clouds vs clear ground | " + " | ".join(bands) + " |", "|---|" + "---|" * len(bands)]
    lines += [f"| {name} | " + " | ".join(f"{v:.2f}" for v in values) + " |" for name, values in rows.items()]
    if out_dir is not None:
        _cloud_figure(real, classes, examples, out_dir / "clouds_real_vs_synthetic.png")
    return "\n".join(lines)


def _cloud_figure(real: np.ndarray, classes: dict[str, np.ndarray], examples: dict, out: Path) -> Path:
    from .figures import Panel, common_stretch, panel_grid

    def rgb(image: np.ndarray, title: str) -> Panel:
        picked = image[[3, 2, 1]]  # red, green, blue of the real scene's band order
        return Panel(picked, title, common_stretch([picked], percentiles=(1, 99)))

    qa = np.zeros((3, *classes["cloud"].shape))
    qa[:, classes["cirrus"]] = np.array([0.3, 0.6, 1.0])[:, None]
    qa[:, classes["cloud"]] = 1.0
    row = [rgb(real, "real Landsat-8 L1 (B4, B3, B2)"), Panel(qa, "its BQA: cloud (white), cirrus (blue)")]
    row += [rgb(deg.inputs["optical"], f"synthetic {kind} over Sentinel-2") for kind, deg in examples.items()]
    return panel_grid(out, [row], cell=(3.2, 3.4), dpi=90)
