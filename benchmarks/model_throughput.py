"""Throughput of the shipped models, and of their architectures' full configurations on random weights.

For every default model in ``resources/models/index.json``:

* ``ort``: bare ONNX Runtime ``session.run`` on one random tile at the card's default tile size, the
  model's own speed;
* ``engine``: ``backend.pipeline.restore`` on a UInt16 GeoTIFF with the card's tiling (overlap,
  statistics, reading, blending, writing), megapixels of *raster* per second;
* ``full``: the same architecture at its published (``full``) configuration with random weights,
  exported through ``training.export`` and timed like ``ort`` at the same tile: what a GPU-trained
  full model would cost on this CPU.

The machine is shared, so each figure is the best of ``--repeat`` runs; the ratio full / lite of the
same run is the comparable number.

    .venv/bin/python -m benchmarks.model_throughput [--size 2048] [--threads 2] [--task desand]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
MODELS = REPO_ROOT / "resources" / "models"


def _timed(fn) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def bench_ort(model: Path, tile: int, threads: int, repeat: int) -> dict:
    from backend.package import read_card
    from backend.runtime import create_session

    card = read_card(model)
    session, provider = create_session(model, "cpu", threads=threads)
    rng = np.random.default_rng(0)
    feed = {}
    for spec in card.inputs:
        lo, hi = spec.normalization.range if spec.normalization else (0.0, 1.0)
        feed[spec.name] = rng.uniform(lo + 0.3 * (hi - lo), hi, (1, len(spec.bands), tile, tile)).astype(
            np.float32
        )
        if spec.context is not None:  # the scene statistics: one small vector per tile
            feed[spec.context.name] = np.full((1, spec.context.width(len(spec.bands))), 0.4, dtype=np.float32)
    session.run(None, feed)  # warm-up
    best = min(_timed(lambda: session.run(None, feed)) for _ in range(repeat))
    mps = round(tile * tile / 1e6 / best, 3)
    return {"tile": tile, "seconds": round(best, 3), "megapixels_per_second": mps, "provider": provider}


def bench_engine(model: Path, size: int, repeat: int) -> dict:
    from osgeo import gdal

    from backend.package import read_card
    from backend.pipeline import RestoreJob, restore

    gdal.UseExceptions()
    card = read_card(model)
    bands = len(card.inputs[0].bands)
    # The optical raster, and a one-band infrared raster for a task that needs one (derain_fuse: a
    # stage model runs with the other stages' defaults, so the time is the whole chain's).
    roles = {"optical": bands, **({"infrared": 1} if card.task == "derain_fuse" else {})}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.tif"
        inputs = {}
        for role, count in roles.items():
            src = inputs[role] = Path(tmp) / f"{role}.tif"
            image = np.random.default_rng(0).uniform(6000, 9000, (count, size, size)).astype(np.uint16)
            dataset = gdal.GetDriverByName("GTiff").Create(
                str(src), size, size, count, gdal.GDT_UInt16, ["TILED=YES"]
            )
            dataset.SetGeoTransform((500000.0, 10.0, 0.0, 4000000.0, 0.0, -10.0))
            for b in range(count):
                dataset.GetRasterBand(b + 1).WriteArray(image[b])
            dataset = None
        job = RestoreJob(card.task, {r: str(p) for r, p in inputs.items()}, str(out), model=str(model),
                         device="cpu")
        times = []
        for _ in range(repeat):
            out.unlink(missing_ok=True)
            times.append(_timed(lambda: restore(job)))
    best = min(times)
    return {"raster": f"{size}x{size} UInt16 x{bands}", "tile": card.tile.default_size,
            "overlap": card.tile.overlap, "seconds": round(best, 2),
            "megapixels_per_second": round(size * size / 1e6 / best, 3)}  # fmt: skip


def full_on_random_weights(model: Path, folder: Path) -> tuple[Path, int]:
    """The shipped model's architecture at its ``full`` preset, random weights, as an ONNX package."""
    import torch

    from backend.package import read_card
    from training.archs import ARCHS, build_arch
    from training.checkpoint import save_checkpoint
    from training.export import export_checkpoint
    from training.model import RestorationModel
    from training.specs import get_spec

    card = read_card(model)
    spec = get_spec(card.task, card.stage or None)
    if not card.architecture.startswith(ARCHS[spec.arch].title):
        raise ValueError(f"{model.name} is a {card.architecture}, not the spec's {spec.arch}")
    torch.manual_seed(0)
    net, cfg = build_arch(spec.arch, "full", in_channels=spec.in_channels, out_channels=spec.out_channels,
                          context_features=spec.context_features)  # fmt: skip
    ckpt = folder / "full.pt"
    save_checkpoint(ckpt, spec=spec, train_config=spec.full, arch_config=cfg,
                    model=RestorationModel(net, spec).eval(), step=0, best_psnr=float("nan"))  # fmt: skip
    report = export_checkpoint(ckpt, folder / f"{spec.key}-{spec.arch}-full-random.onnx")
    return report.path, report.parameters


def bench_model(model: Path, size: int, threads: int, repeat: int) -> dict:
    from backend.package import read_card

    card = read_card(model)
    tile = card.tile.default_size
    row = {"task": card.task, "model": card.name, "parameters": card.parameters,
           "ort": bench_ort(model, tile, threads, repeat),
           "engine": bench_engine(model, size, repeat)}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        full, parameters = full_on_random_weights(model, Path(tmp))
        row["full"] = {"parameters": parameters, **bench_ort(full, tile, threads, repeat)}
    row["full_over_lite_seconds"] = round(row["full"]["seconds"] / row["ort"]["seconds"], 2)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048, help="side of the engine's test raster")
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime intra-op threads (bare runs)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--task", action="append", help="only these tasks' models (default: every shipped one)"
    )
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks" / "model_throughput.json")
    args = parser.parse_args(argv)
    entries = [e for e in json.loads((MODELS / "index.json").read_text())["models"] if e.get("default")]
    rows = [bench_model(MODELS / e["file"], args.size, args.threads, args.repeat)
            for e in entries if not args.task or e["task"] in args.task]  # fmt: skip
    result = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
              "command": "python -m benchmarks.model_throughput " + " ".join(argv or []),
              "time_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()), "models": rows}  # fmt: skip
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        "| task | model | parameters | tile | bare ORT MP/s | engine MP/s | full (random) parameters | "
        "full MP/s | full / lite time |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['task']} | {r['model']} | {r['parameters']:,} | {r['ort']['tile']} | "
            f"{r['ort']['megapixels_per_second']:.3f} | {r['engine']['megapixels_per_second']:.3f} | "
            f"{r['full']['parameters']:,} | {r['full']['megapixels_per_second']:.3f} | "
            f"{r['full_over_lite_seconds']:.2f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
