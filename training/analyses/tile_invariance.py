"""Tiled vs single-tile output of dehaze models on two 1024 px crops of the real Landsat-8 scene.

One crop has no fill, the other is 42 % fill (value 0, declared nodata): this separates the tile
dependence a network has on its own (global pools over a tile's content) from the one the fill adds.
Both runs go through the engine (the reference as one tile holding the whole crop, so nodata is fed
the same way); differences are over the valid pixels, in units of the crop's 0.5-99.5 % range, as
in the evaluation's seams (``training.evaluate.tile_dependence``).

    python -m training analyze tile_invariance resources/models/dehaze-hsmr-lite.onnx [MORE.onnx]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from osgeo import gdal

from ..evaluate import single_tile_size, tile_dependence
from ..evaluation.base import EngineModel
from ..evaluation.real_hazy import LANDSAT_HAZY
from ..paths import default_data_root

SIZE = 1024


def _write(path: Path, crop: np.ndarray) -> Path:
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), SIZE, SIZE, 3, gdal.GDT_UInt16)
    for b in range(3):
        dataset.GetRasterBand(b + 1).WriteArray(crop[b])
        dataset.GetRasterBand(b + 1).SetNoDataValue(0)
    dataset = None
    return path


def crops(root: Path) -> dict[str, np.ndarray]:
    """The two crops (red, green, blue digital numbers, 0 = fill) by name."""
    dataset = gdal.Open(str(root / LANDSAT_HAZY))
    scene = np.stack([dataset.GetRasterBand(b).ReadAsArray() for b in (3, 2, 1)])
    return {"no fill (rows 384-1408, cols 0-1024)": scene[:, 384 : 384 + SIZE, :SIZE],
            "42 % fill (top-right corner)": scene[:, :SIZE, -SIZE:]}  # fmt: skip


def tile_invariance(model: EngineModel, crop: np.ndarray, workdir: Path) -> dict:
    """The crop's fill share and its |tiled - single tile| over the valid pixels."""
    source = {"optical": _write(workdir / "crop.tif", crop)}
    tiled, _ = model.restore_file(source, workdir / "tiled.tif")
    whole, tiles = model.restore_file(source, workdir / "whole.tif",
                                      tile_size=single_tile_size(model.card.tile, SIZE, SIZE))  # fmt: skip
    if tiles != 1:
        raise RuntimeError(f"the single-tile run took {tiles} tiles")
    fill = ~(crop > 0).all(0)
    stretch = tuple(np.percentile(crop[:, ~fill], (0.5, 99.5)))
    seams = tile_dependence(tiled[:, ~fill], whole[:, ~fill], stretch)
    return {"fill": round(float(fill.mean()), 2), **seams}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training analyze tile_invariance",
                                     description=__doc__.splitlines()[0])  # fmt: skip
    parser.add_argument("models", type=Path, nargs="+")
    parser.add_argument("--data", type=Path, default=default_data_root())
    args = parser.parse_args(argv)
    gdal.UseExceptions()
    with tempfile.TemporaryDirectory() as tmp:
        for path in args.models:
            model = EngineModel("dehaze", path)
            for name, crop in crops(args.data).items():
                result = tile_invariance(model, crop, Path(tmp))
                print(f"{path.name}: {name}: |tiled - single tile| / range {result}", flush=True)
    return 0
