"""Real Landsat-7 SLC-off test regions with ground truth on the gap pixels.

``landsat7_slcoff_3dates`` holds the same area on three dates, each with its real scan-line gaps
(nodata). A date cannot be the truth of its own gaps, so each region takes a target date and lays
its *own* real gap pattern over it again, shifted by ``SHIFT`` rows (about half a scan period):
the new gaps have the real SLC-off geometry and fall on pixels whose true values are known. The
pixels scored are those new gaps; the target's own gaps stay missing in the input (and unscored).
The reference is another date with its own real gaps. Bands 3, 4, 5 (red, NIR, SWIR1) are fed as
the model's three bands (it is band-agnostic: each raster is stretched on its own statistics).
The 2010-02-01 date is left out: 62 % of it is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..readers import read_raster
from ..realism import SLC_OFF_DIR
from ..synthesis.base import Degradation

#: (target date, reference date) of each region set.
DATES = (("20100116", "20100508"), ("20100508", "20100116"))
BANDS = ("B30", "B40", "B50")
#: Rows the target's gap pattern is shifted by (the real scans repeat every ~40 rows).
SHIFT = 20
#: Top-left corners and side of the regions cut from the 1000 x 2700 scene.
CORNERS = ((0, 0), (488, 1400), (0, 2188))
SIZE = 512


def _date(root: Path, date: str) -> np.ndarray:
    files = [root / SLC_OFF_DIR / f"LS7_ETM_095_082_{date}_{band}.nc" for band in BANDS]
    stack = np.concatenate([read_raster(path) for path in files])
    stack[:, ~np.isfinite(stack).all(axis=0)] = np.nan  # a pixel is missing in all bands or in none
    return stack


def _unit(image: np.ndarray) -> np.ndarray:
    """Joint 0.5-99.5 % stretch of the known pixels to [0, 1] (not clipped), NaN kept."""
    lo, hi = np.nanpercentile(image, [0.5, 99.5])
    return ((image - lo) / max(float(hi - lo), 1e-6)).astype(np.float32)


def slc_off_regions(root: str | Path, reference: bool = True) -> Iterator[tuple[str, Degradation]]:
    """The real SLC-off test regions (``reference`` False: without the other date)."""
    root = Path(root)
    if not (root / SLC_OFF_DIR).is_dir():
        return
    for target_date, reference_date in DATES:
        target = _unit(_date(root, target_date))
        other = _unit(_date(root, reference_date))
        own = ~np.isfinite(target).all(axis=0)
        gaps = np.roll(own, SHIFT, axis=0) & ~own
        holed = np.where((gaps | own)[None], np.float32(np.nan), target)
        for y0, x0 in CORNERS:
            window = (slice(None), slice(y0, y0 + SIZE), slice(x0, x0 + SIZE))
            mask = gaps[None][window].astype(np.float32)
            inputs = {"optical": holed[window].copy(), "mask": mask}
            if reference:
                inputs["reference"] = other[window].copy()
            name = f"slcoff_{target_date}_y{y0}_x{x0}"
            yield name, Degradation(inputs=inputs, target=target[window].copy(), mask=mask)
