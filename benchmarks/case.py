"""One benchmark case in its own process, so ``ru_maxrss`` is the peak of that case alone.

    python -m benchmarks.case restore MODEL INPUT OUTPUT THREADS   -> engine run
    python -m benchmarks.case bare MODEL INPUT THREADS [MAX_TILES]  -> the model alone on the same tiles
    python -m benchmarks.case baseline                      -> the interpreter + imports, no work

THREADS is ONNX Runtime's intra-op thread count, 0 for its default (one per core). Prints one JSON line.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import numpy as np


def _peak_mb() -> float:
    """Peak RSS of this process image in MB.

    Linux ``VmHWM`` is reset by ``exec``; ``ru_maxrss`` is not (it keeps the parent's size at fork
    time), so it is only the fallback on systems without ``/proc``.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def restore_case(model: str, source: str, output: str, threads: int | None = None) -> dict:
    """Time ``restore()`` itself: imports (about 0.4 s, paid once per QGIS session) come first."""
    import onnxruntime  # noqa: F401

    from backend.pipeline import RestoreJob, restore

    began = time.perf_counter()
    result = restore(RestoreJob("dehaze", {"optical": source}, output, model=model, device="cpu",
                                threads=threads))
    wall = time.perf_counter() - began
    return {"wall_s": wall, "tiles": result.tiles, "seconds": result.seconds, "provider": result.provider}


def bare_case(model: str, source: str, threads: int | None = None, max_tiles: int | None = None) -> dict:
    """Run the session on as many tiles of the same shape as the engine used, from memory."""
    from backend.pipeline import CPU_BATCH
    from backend.raster_io import RasterReader
    from backend.registry import resolve_model
    from backend.runtime import create_session
    from backend.tiling import plan_grid

    info = resolve_model("dehaze", model)
    reader = RasterReader(source)
    card = info.card
    grid = plan_grid(reader.grid.height, reader.grid.width, card.tile.default_size, card.tile.overlap,
                     card.tile.multiple)
    session, _ = create_session(info.path, "cpu", threads)
    count = grid.count if max_tiles is None else min(grid.count, max_tiles)
    batch = np.random.default_rng(0).random((CPU_BATCH, 3, grid.rows.tile, grid.cols.tile)).astype(np.float32)
    session.run(None, {"optical": batch[:1]})  # warm-up, as the engine's first batch pays it too
    began = time.perf_counter()
    done = 0
    while done < count:
        n = min(CPU_BATCH, count - done)
        session.run(None, {"optical": batch[:n]})
        done += n
    seconds = time.perf_counter() - began
    return {"tiles": count, "all_tiles": grid.count, "model_s": seconds,
            "model_s_all_tiles": seconds * grid.count / count}


def main(argv: list[str]) -> int:
    kind = argv[0]
    if kind == "restore":
        report = restore_case(*argv[1:4], int(argv[4]) or None)
    elif kind == "bare":
        report = bare_case(argv[1], argv[2], int(argv[3]) or None, int(argv[4]) if len(argv) > 4 else None)
    elif kind == "baseline":
        import onnxruntime  # noqa: F401
        from osgeo import gdal  # noqa: F401

        import backend.pipeline  # noqa: F401

        report = {}
    else:
        raise SystemExit(f"unknown case {kind!r}")
    report["peak_rss_mb"] = _peak_mb()
    if kind == "restore":
        report["output_mb"] = Path(argv[3]).stat().st_size / 1e6
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
