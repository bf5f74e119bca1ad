"""Size, memory and disk budget of a run, checked before the first tile is read.

A 1 KB VRT can declare a raster of 3,000,000 x 3,000,000 pixels; without a check the engine would
start a job of days, fill the disk or the memory, and only then fail. The estimates here are cheap
(arithmetic on the tile grid) and deliberately simple upper bounds; each refusal gives the numbers and
how to override it (the job's ``allow_large``, or the environment variable ``RESTORE_ALLOW_LARGE=1``).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from .errors import InvalidOptionError
from .model_card import MAX_TILE_SIZE
from .tiling import TileGrid

__all__ = ["MAX_TILE_SIZE", "MAX_PIXELS", "Estimate", "check_budget", "check_pixels", "check_tile_size",
           "estimate"]
#: Largest raster (pixels) restored without ``allow_large``: 65,536 x 65,536.
MAX_PIXELS = 1 << 32
#: Share of the available memory a run may plan to use.
MEMORY_SHARE = 0.8
#: Rough working memory of a network per tile pixel (float32 feature maps); the GPU batch heuristic's.
ACTIVATION_MAPS = 64
ENV_ALLOW = "RESTORE_ALLOW_LARGE"
#: How a refusal says it can be overridden (the error's ``options`` name ``allow_large``).
OVERRIDE = f"allow large rasters (or set {ENV_ALLOW}=1) to run it anyway"


@dataclass(frozen=True)
class Estimate:
    """What a run will need: pixels, peak memory of the engine (bytes), output size on disk (bytes)."""

    pixels: int
    memory: int
    disk: int


def allowed_by_env() -> bool:
    """True when ``RESTORE_ALLOW_LARGE`` is set to a true value (1, true, yes)."""
    return os.environ.get(ENV_ALLOW, "").strip().lower() in ("1", "true", "yes")


def check_tile_size(size: int, source: str) -> None:
    """Refuse a tile edge above ``MAX_TILE_SIZE`` (``source``: where the size came from)."""
    if size > MAX_TILE_SIZE:
        raise InvalidOptionError(
            f"tile size {size} px ({source}) is above the limit of {MAX_TILE_SIZE} px: every tile of a "
            "batch is held in memory several times over; use a smaller tile size", options=("tile_size",))


def check_pixels(width: int, height: int, allow_large: bool = False) -> None:
    """Refuse a raster over ``MAX_PIXELS`` before anything is read from it."""
    pixels = width * height
    if pixels > MAX_PIXELS and not (allow_large or allowed_by_env()):
        raise InvalidOptionError(
            f"the raster is {width} x {height} = {pixels / 1e9:.1f} Gpx, above the limit of "
            f"{MAX_PIXELS / 1e9:.1f} Gpx; check it is the raster you mean (a VRT can declare any size), "
            f"or {OVERRIDE}", options=("allow_large",))


def estimate(grid: TileGrid, batch: int, in_channels: int, out_channels: int, out_bytes_per_pixel: int,
             cache_bytes: int, network_on_device: bool = False) -> Estimate:
    """Upper-bound estimate of a run on ``grid`` (see ``backend.engine.run_engine``).

    Memory: two input batches (the one running and the one being read), three batches of model
    outputs (running, and up to two waiting for the writer), the model's own working memory (not
    counted when ``network_on_device``: it is on the GPU), the blender's accumulator and carries (a
    right overlap per tile row, a bottom overlap across a column band) and GDAL's block cache.
    Disk: the output uncompressed (compression usually halves it, but noise does not compress).
    """
    from .engine import BAND_WIDTH

    rows, cols = grid.rows, grid.cols
    tile_px = rows.tile * cols.tile
    depth = out_channels + 1
    inputs = 2 * batch * in_channels * tile_px * 4
    outputs = 3 * batch * out_channels * tile_px * 4 + 2 * depth * tile_px * 8
    network = 0 if network_on_device else batch * tile_px * 4 * ACTIVATION_MAPS
    band = min(cols.size + 2 * cols.overlap, BAND_WIDTH * 3 // 2 + cols.tile)
    carries = (rows.count * rows.tile * cols.overlap + rows.overlap * band) * depth * 8
    memory = inputs + outputs + network + carries + cache_bytes
    pixels = rows.size * cols.size
    return Estimate(pixels=pixels, memory=memory, disk=pixels * out_bytes_per_pixel)


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (``MemAvailable``); ``None`` when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_budget(need: Estimate, output_folder: Path, allow_large: bool = False,
                 memory: int | None = None) -> None:
    """Refuse a run whose memory or disk need exceeds what this machine has, with the numbers."""
    if allow_large or allowed_by_env():
        return
    memory = available_memory() if memory is None else memory
    if memory is not None and need.memory > MEMORY_SHARE * memory:
        raise InvalidOptionError(
            f"this run needs about {_size(need.memory)} of memory (tiles, batches and halos), but only "
            f"{_size(memory)} is available; lower the batch size or the tile size, or {OVERRIDE}",
            options=("batch_size", "tile_size", "allow_large"))
    try:
        free = shutil.disk_usage(output_folder).free
    except OSError:
        return
    if need.disk > free:
        raise InvalidOptionError(
            f"the output needs up to {_size(need.disk)} ({need.pixels / 1e6:.0f} Mpx, uncompressed) but "
            f"{output_folder} has {_size(free)} free; free some space, write elsewhere, or {OVERRIDE}",
            options=("allow_large",))


def _size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if count < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"
