"""Throughput of the shipped dehaze model: bare ONNX Runtime on tiles vs the whole backend engine.

* ``ort``: ``session.run`` on random (batch, bands, tile, tile) tensors, the model's own speed.
* ``engine``: ``backend.pipeline.restore`` on a UInt16 GeoTIFF (default tiling of the model card:
  overlap, statistics, reading, writing), megapixels of *raster* per second.

The machine is shared, so each figure is the best of ``--repeat`` runs.

    .venv/bin/python -m benchmarks.dehaze_model [--size 2048] [--tile 512] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = REPO_ROOT / "resources" / "models" / "dehaze-hsmr-lite.onnx"


def bench_ort(model: Path, tile: int, batch: int, threads: int, repeat: int) -> dict:
    from backend.package import read_card
    from backend.runtime import create_session

    card = read_card(model)
    session, provider = create_session(model, "cpu", threads=threads)
    hazy = card.inputs[0]
    x = np.random.default_rng(0).uniform(0.38, 0.92, (batch, len(hazy.bands), tile, tile)).astype(np.float32)
    feed = {hazy.name: x}
    if hazy.context is not None:  # the scene statistics: one small vector per tile
        feed[hazy.context.name] = np.full((batch, hazy.context.width(len(hazy.bands))), 0.4, dtype=np.float32)
    session.run(None, feed)  # warm-up
    best = min(_timed(lambda: session.run(None, feed)) for _ in range(repeat))
    return {"tile": tile, "batch": batch, "seconds": round(best, 3),
            "megapixels_per_second": round(batch * tile * tile / 1e6 / best, 3), "provider": provider}


def bench_engine(model: Path, size: int, repeat: int) -> dict:
    from osgeo import gdal

    from backend.package import read_card
    from backend.pipeline import restore

    gdal.UseExceptions()
    bands = len(read_card(model).inputs[0].bands)
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "hazy.tif", Path(tmp) / "out.tif"
        rng = np.random.default_rng(0)
        image = (rng.uniform(6000, 9000, (bands, size, size))).astype(np.uint16)
        driver = gdal.GetDriverByName("GTiff")
        dataset = driver.Create(str(src), size, size, bands, gdal.GDT_UInt16, ["TILED=YES"])
        dataset.SetGeoTransform((500000.0, 10.0, 0.0, 4000000.0, 0.0, -10.0))
        for b in range(bands):
            dataset.GetRasterBand(b + 1).WriteArray(image[b])
        dataset = None
        times = []
        for _ in range(repeat):
            out.unlink(missing_ok=True)
            times.append(_timed(lambda: restore("dehaze", {"optical": str(src)}, str(out), model=str(model),
                                                device="cpu")))  # fmt: skip
    best = min(times)
    return {"raster": f"{size}x{size} UInt16 x{bands}", "seconds": round(best, 2),
            "megapixels_per_second": round(size * size / 1e6 / best, 3)}


def _timed(fn) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--size", type=int, default=2048, help="side of the engine's test raster")
    parser.add_argument("--tile", type=int, default=512)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime intra-op threads (bare run)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    result = {
        "model": args.model.name,
        "machine": f"{platform.processor() or platform.machine()}, {__import__('os').cpu_count()} cores",
        "ort": bench_ort(args.model, args.tile, args.batch, args.threads, args.repeat),
        "engine": bench_engine(args.model, args.size, args.repeat),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
