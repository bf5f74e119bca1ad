"""Tiled vs single-tile output of dehaze models on two 1024 px crops of the real Landsat-8 scene.

One crop has no fill, the other is 42 % fill (value 0, declared nodata): this separates the tile
dependence a network has on its own (global pools over a tile's content) from the one the fill adds.
Both runs go through the engine (the reference as one tile holding the whole crop, so nodata is fed
the same way);
differences are in units of the crop's 0.5-99.5 % range, as in ``scripts/eval_dehaze_hsmr.py``.

    .venv/bin/python scripts/check_tile_invariance.py resources/models/dehaze-hsmr-lite.onnx [MORE.onnx]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from osgeo import gdal

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from backend.package import read_card  # noqa: E402
from training.evaluate import restore_file, single_tile_size, tile_dependence  # noqa: E402

LANDSAT_HAZY = "remote_sensing/landsat8_l1_hazy_224078/LC08_L1TP_224078_20200518_20200518_01_RT.TIF"

SIZE = 1024


def _write(path: Path, crop: np.ndarray) -> None:
    ds = gdal.GetDriverByName("GTiff").Create(str(path), SIZE, SIZE, 3, gdal.GDT_UInt16)
    for b in range(3):
        ds.GetRasterBand(b + 1).WriteArray(crop[b])
        ds.GetRasterBand(b + 1).SetNoDataValue(0)
    ds = None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path, nargs="+")
    parser.add_argument("--data", type=Path, default=REPO_ROOT.parent / "shared" / "data")
    args = parser.parse_args(argv)
    gdal.UseExceptions()
    ds = gdal.Open(str(args.data / LANDSAT_HAZY))
    scene = np.stack([ds.GetRasterBand(b).ReadAsArray() for b in (3, 2, 1)])  # red, green, blue
    crops = {"no fill (rows 384-1408, cols 0-1024)": scene[:, 384 : 384 + SIZE, :SIZE],
             "42 % fill (top-right corner)": scene[:, :SIZE, -SIZE:]}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for model_path in args.models:
            single = single_tile_size(read_card(model_path).tile, SIZE, SIZE)
            for name, crop in crops.items():
                source = {"optical": Path(tmp) / "crop.tif"}
                _write(source["optical"], crop)
                tiled, _ = restore_file("dehaze", model_path, source, Path(tmp) / "tiled.tif", device="cpu")
                whole, tiles = restore_file("dehaze", model_path, source, Path(tmp) / "whole.tif",
                                            tile_size=single, device="cpu")
                assert tiles == 1, f"the single-tile run took {tiles} tiles"
                fill = ~(crop > 0).all(0)
                stretch = tuple(np.percentile(crop[:, ~fill], (0.5, 99.5)))
                print(f"{model_path.name}: {name}: fill {fill.mean():.2f}, |tiled - single tile| / range "
                      f"{tile_dependence(tiled[:, ~fill], whole[:, ~fill], stretch)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
