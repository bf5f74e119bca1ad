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
