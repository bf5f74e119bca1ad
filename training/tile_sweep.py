"""Tile size against quality, speed and memory: the measurement behind a card's default tile.

For each tile size the engine restores the task's test regions (the same ones ``evaluate`` scores)
with that tile and the card's overlap; the sweep reports mean PSNR/SSIM against the ground truth,
the engine's throughput over those regions (small regions: fixed costs weigh), and for one ONNX
Runtime run at that tile the bare model's throughput and the peak resident memory (in a child
process, so one size's arenas do not hide another's). Networks with
global attention over the tile (SSDIE-Net, ACA-CRNet) grow with the square of the tile's area.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from backend.package import read_card
from backend.registry import resolve_model

from .evaluate import restore_file, score, write_inputs

_PEAK_RSS = """
import resource, sys, time
import numpy as np
from backend.package import read_card
from backend.runtime import create_session
card = read_card(sys.argv[1]); tile = int(sys.argv[2])
session, _ = create_session(sys.argv[1], "cpu", threads=int(sys.argv[3]))
feed = {s.name: np.random.default_rng(0).uniform(0, 1, (1, len(s.bands), tile, tile)).astype(np.float32)
        for s in card.inputs}
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
session.run(None, feed)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
began = time.perf_counter(); session.run(None, feed); seconds = time.perf_counter() - began
print(peak, before / 1024, tile * tile / 1e6 / seconds)
"""


def one_tile(model: Path, tile: int, threads: int = 2) -> tuple[float, float, float]:
    """In a child process: (peak RSS after one ``tile`` x ``tile`` run, peak before it) in MB, and
    the bare model's megapixels per second on that tile (the second run)."""
    repo = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", _PEAK_RSS, str(model), str(tile), str(threads)], cwd=repo,
                         capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    return float(out[0]), float(out[1]), float(out[2])


def tile_sweep(task: str, model: str | Path | None, regions: Sequence, tiles: Sequence[int],
               threads: int = 2) -> dict:  # fmt: skip
    """Score ``regions`` (name, Degradation) at every tile size of ``tiles``; see module docstring."""
    info = resolve_model(task, model)
    card = read_card(info.path)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folders = []
        for i, (_, deg) in enumerate(regions):
            folder = Path(tmp) / f"r{i}"
            folder.mkdir()
            folders.append((folder, write_inputs(deg, folder), deg))
        pixels = sum(deg.target.shape[1] * deg.target.shape[2] for _, _, deg in folders)
        for tile in tiles:
            scores, seconds = [], 0.0
            for folder, inputs, deg in folders:
                began = time.perf_counter()
                out = folder / f"out_{tile}.tif"
                restored, _ = restore_file(task, info.path, inputs, out, tile_size=tile, device="cpu")
                seconds += time.perf_counter() - began
                scores.append(score(restored, deg.target, deg.mask))
            peak, base, bare = one_tile(info.path, tile, threads)
            rows.append({
                "tile": tile, "overlap": card.tile.overlap,
                "psnr": round(float(np.mean([s["psnr"] for s in scores])), 3),
                "ssim": round(float(np.mean([s["ssim"] for s in scores])), 4),
                "engine_mpx_per_s": round(pixels / 1e6 / seconds, 3), "model_mpx_per_s": round(bare, 3),
                "one_tile_peak_rss_mb": round(peak, 1), "session_rss_mb": round(base, 1),
            })  # fmt: skip
            if "psnr_gaps" in scores[0]:  # gap filling: what was reconstructed
                rows[-1]["psnr_gaps"] = round(float(np.mean([s["psnr_gaps"] for s in scores])), 3)
    return {"task": task, "model": info.name, "regions": len(folders), "card_default": card.tile.default_size,
            "rows": rows}  # fmt: skip


def render(result: dict, command: str) -> str:
    lines = [
        f"## Tile size sweep: {result['model']} on {result['regions']} test region(s)",
        "",
        f"Reproduce: `{command}`",
        "",
        "| tile | overlap | PSNR | SSIM | engine Mpx/s (test regions) | model Mpx/s (one tile) | "
        "peak RSS of one tile (MB) |",
        "|---|---|---|---|---|---|---|",
    ]
    gaps = all("psnr_gaps" in r for r in result["rows"])
    if gaps:
        lines[4] = lines[4].replace("| PSNR |", "| PSNR | PSNR gaps |")
        lines[5] += "---|"
    for r in result["rows"]:
        psnr = f"{r['psnr']:.2f} | {r['psnr_gaps']:.2f}" if gaps else f"{r['psnr']:.2f}"
        lines.append(f"| {r['tile']} | {r['overlap']} | {psnr} | {r['ssim']:.3f} | "
                     f"{r['engine_mpx_per_s']:.3f} | {r['model_mpx_per_s']:.3f} | "
                     f"{r['one_tile_peak_rss_mb']:.0f} |")  # fmt: skip
    lines.append(f"\nThe card's default tile: {result['card_default']}.")
    return "\n".join(lines) + "\n"


def run(task: str, model: str | None, data_root: Path, out_dir: Path, tiles: Sequence[int],
        limit: int | None) -> tuple[dict, str]:  # fmt: skip
    """``python -m training tile-sweep``: writes ``<task>_tiles.{json,md}`` under ``out_dir``."""
    from .data.recipes import evaluation_regions
    from .specs import get_spec

    regions = list(itertools.islice(evaluation_regions(get_spec(task), data_root), limit))
    command = (f"python -m training tile-sweep --task {task}" + (f" --model {model}" if model else "")
               + f" --tiles {' '.join(map(str, tiles))}"
               + (f" --limit {limit}" if limit else ""))  # fmt: skip
    result = tile_sweep(task, model, regions, tiles)
    result["command"] = command
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{task}_tiles.json").write_text(json.dumps(result, indent=2))
    markdown = render(result, command)
    (out_dir / f"{task}_tiles.md").write_text(markdown)
    return result, markdown
