"""``python -m benchmarks``: the engine benchmark (see the package docstring and docs/BENCHMARKS.md).

For each size: write a synthetic 3-band uint16 input, then in separate processes run gdal_translate
with the engine's creation options, the engine with an identity model, the engine with a small CNN,
and the CNN alone on the same tiles from memory. Inputs and outputs live in a temporary folder that
is deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from backend.raster_io import creation_options

from . import models

REPO = Path(__file__).resolve().parents[1]


def _write_input(source: Path, size: int) -> None:
    """In a child process, so the GDAL cache it fills never inflates this process (or its children)."""
    code = ("from pathlib import Path; from benchmarks import synth; "
            f"synth.write_input(Path({str(source)!r}), {size})")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True)


def _case(*args: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-m", "benchmarks.case", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark case {args[0]} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _gdal_translate(source: Path, target: Path) -> float:
    exe = shutil.which("gdal_translate") or "gdal_translate"
    cmd = [exe, "-q"]
    for option in creation_options(np.uint16):
        cmd += ["-co", option]
    began = time.perf_counter()
    subprocess.run(cmd + [str(source), str(target)], check=True)
    return time.perf_counter() - began


def run_size(size: int, work: Path, cnn: Path, ident: Path, bare_tiles: int | None, threads: int = 0) -> dict:
    source = work / f"in_{size}.tif"
    began = time.perf_counter()
    _write_input(source, size)
    row: dict = {"size": size, "megapixels": size * size / 1e6, "input_mb": source.stat().st_size / 1e6,
                 "write_input_s": time.perf_counter() - began}
    target = work / "out.tif"
    row["gdal_translate_s"] = _gdal_translate(source, target)
    target.unlink()
    row["identity"] = _case("restore", str(ident), str(source), str(target), str(threads))
    target.unlink()
    row["cnn"] = _case("restore", str(cnn), str(source), str(target), str(threads))
    target.unlink()
    row["bare"] = _case("bare", str(cnn), str(source), str(threads),
                        *([str(bare_tiles)] if bare_tiles else []))
    source.unlink()
    mp = row["megapixels"]
    row["cnn_mpx_per_s"] = mp / row["cnn"]["wall_s"]
    row["identity_mpx_per_s"] = mp / row["identity"]["wall_s"]
    row["gdal_translate_mpx_per_s"] = mp / row["gdal_translate_s"]
    row["identity_vs_gdal_translate"] = row["identity_mpx_per_s"] / row["gdal_translate_mpx_per_s"]
    row["overhead_vs_bare"] = row["cnn"]["wall_s"] / row["bare"]["model_s_all_tiles"]
    row["overhead_vs_model_in_run"] = row["cnn"]["wall_s"] / row["cnn"]["seconds"]["model"]
    return row


def _table(rows: list[dict], baseline_mb: float) -> str:
    lines = ["| raster | CNN Mpx/s | peak RSS CNN (MB) | peak RSS identity (MB) | end-to-end / bare model | "
             "end-to-end / model time in run | identity Mpx/s | gdal_translate Mpx/s | "
             "identity / gdal_translate |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['size']}² | {r['cnn_mpx_per_s']:.2f} | {r['cnn']['peak_rss_mb']:.0f} | "
            f"{r['identity']['peak_rss_mb']:.0f} | {r['overhead_vs_bare']:.3f} | "
            f"{r['overhead_vs_model_in_run']:.3f} | {r['identity_mpx_per_s']:.2f} | "
            f"{r['gdal_translate_mpx_per_s']:.2f} | {r['identity_vs_gdal_translate']:.2f} |")
    lines.append(f"\nInterpreter + imports alone: {baseline_mb:.0f} MB peak RSS.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048, 8192, 16384])
    parser.add_argument("--workdir", type=Path, default=None, help="where the temporary rasters go")
    parser.add_argument("--bare-tiles", type=int, default=200,
                        help="time the bare model on at most this many tiles and scale to all (default 200)")
    parser.add_argument("--model-threads", type=int, default=0,
                        help="ONNX Runtime threads of the engine's and the bare model's session "
                             "(default 0: one per core)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results.json")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="restore-bench-", dir=args.workdir))
    rows = []
    try:
        cnn = models.small_cnn(work / "cnn.onnx")
        ident = models.identity(work / "identity.onnx")
        baseline = _case("baseline")["peak_rss_mb"]
        for size in args.sizes:
            began = time.perf_counter()
            rows.append(run_size(size, work, cnn, ident, args.bare_tiles, args.model_threads))
            print(f"{size}²: done in {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    big, small = rows[-1], rows[0]
    summary = {
        "rss_ratio_largest_vs_smallest": big["cnn"]["peak_rss_mb"] / small["cnn"]["peak_rss_mb"],
        "max_peak_rss_mb": max(max(r["cnn"]["peak_rss_mb"], r["identity"]["peak_rss_mb"]) for r in rows),
        "max_overhead_vs_bare": max(r["overhead_vs_bare"] for r in rows),
        "min_identity_vs_gdal_translate": min(r["identity_vs_gdal_translate"] for r in rows),
    }
    report = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                          "python": platform.python_version()},
              "command": "python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:]),
              "baseline_rss_mb": baseline, "rows": rows, "summary": summary}
    args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(_table(rows, baseline))
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
