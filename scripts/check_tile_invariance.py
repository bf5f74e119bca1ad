"""Tiled vs single-tile output of dehaze models on two 1024 px crops of the real Landsat-8 scene.

One crop has no fill, the other is 42 % fill (value 0, declared nodata): this separates the tile
dependence a network has on its own (global pools over a tile's content) from the one the fill adds.
Differences are in units of the crop's 0.5-99.5 % range, as in ``scripts/eval_dehaze_hsmr.py``.

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
sys.path.insert(0, str(REPO_ROOT / "scripts"))
sys.path.insert(0, str(REPO_ROOT))

import eval_dehaze_hsmr as ev  # noqa: E402

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
    ds = gdal.Open(str(args.data / ev.LANDSAT_HAZY))
    scene = np.stack([ds.GetRasterBand(b).ReadAsArray() for b in (3, 2, 1)])  # red, green, blue
    crops = {"no fill (rows 384-1408, cols 0-1024)": scene[:, 384 : 384 + SIZE, :SIZE],
             "42 % fill (top-right corner)": scene[:, :SIZE, -SIZE:]}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for model_path in args.models:
            model = ev.HSMR(model_path)
            for name, crop in crops.items():
                source, out = Path(tmp) / "crop.tif", Path(tmp) / "out.tif"
                _write(source, crop)
                tiled, _ = ev._restore(model_path, source, out)
                fill = ~(crop > 0).all(0)
                whole = model(crop.astype(np.float32))
                whole[:, fill] = np.nan
                stretch = tuple(np.percentile(crop[:, ~fill], (0.5, 99.5)))
                print(f"{model_path.name}: {name}: fill {fill.mean():.2f}, |tiled - single tile| / range "
                      f"{ev._seams(tiled, whole, stretch)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
