"""Where a dehazer's error lies: in its global level per band, or in local structure.

For each paired test set of ``scripts/eval_dehaze_hsmr.py`` (the held-out regions hazed by the
training synthesis and by the RS-Haze recipe, and the RS-Haze tile's two hazy versions), the PSNR of
the hazy input, the dark channel prior and a model package, as they are and after
``training.metrics.best_affine``: the per-band gain and offset that fit the clean reference best. That
fit is an oracle (it knows the reference). The gap it closes is error in the global level (how much
haze was taken off each band, how much contrast was given back). The rest is local: structure, and
haze that varies in space. The issue's target (the prior + 4 dB) is printed beside each set.

    .venv/bin/python scripts/check_dehaze_headroom.py --model resources/models/dehaze-hsmr-lite.onnx
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "scripts"))

import eval_dehaze_hsmr as evaluation  # noqa: E402

from training.baselines.dcp import dark_channel_dehaze  # noqa: E402
from training.metrics import best_affine, psnr  # noqa: E402

#: The issue's bar: this many dB above the dark channel prior on each test set.
TARGET_MARGIN_DB = 4.0

Pairs = Iterable[tuple[np.ndarray, np.ndarray]]


def headroom(model: Callable[[np.ndarray], np.ndarray], pairs: Pairs) -> dict:
    """Mean PSNR over (hazy, clean) ``pairs`` of each method, as it is and after the oracle fit."""
    methods = {"hazy": lambda x: x, "dcp": dark_channel_dehaze, "model": model}
    scores: dict[str, dict[str, list[float]]] = {m: {"psnr": [], "best_affine": []} for m in methods}
    for hazy, clean in pairs:
        for name, method in methods.items():
            result = np.clip(method(hazy), 0.0, 1.0)
            scores[name]["psnr"].append(psnr(result, clean))
            scores[name]["best_affine"].append(psnr(np.clip(best_affine(result, clean), 0.0, 1.0), clean))
    out = {m: {k: round(float(np.mean(v)), 2) for k, v in s.items()} for m, s in scores.items()}
    out["pairs"] = len(scores["hazy"]["psnr"])
    out["target"] = round(out["dcp"]["psnr"] + TARGET_MARGIN_DB, 2)
    return out


def test_sets(root: Path, bands: tuple[str, ...]) -> dict[str, Callable[[], Pairs]]:
    """The evaluation's paired sets, each as a function giving its (hazy, clean) pairs."""
    clean, hazy = evaluation.rs_haze_tile(root, bands)
    regions = evaluation.test_regions
    sets = {
        "synthetic_test": lambda: ((r.hazy, r.clean) for r in regions(root, bands)),
        "synthetic_rs_recipe": lambda: ((r.rs_hazy, r.rs_clean) for r in regions(root, bands)),
    }
    for variant, image in hazy.items():
        sets[f"rs_haze_{variant}"] = lambda image=image: [(image, clean)]
    return sets


def table(results: dict) -> str:
    """The results as a Markdown table (PSNR as it is / after the oracle fit)."""
    rows = ["| test set | hazy | dark channel prior | model | target (prior + 4 dB) |",
            "|---|---|---|---|---|"]
    for name, r in results.items():
        cells = [f"{r[m]['psnr']:.2f} / {r[m]['best_affine']:.2f}" for m in ("hazy", "dcp", "model")]
        rows.append(f"| {name} | " + " | ".join(cells) + f" | {r['target']:.2f} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=REPO_ROOT / "resources/models/dehaze-hsmr-lite.onnx")
    parser.add_argument("--data", type=Path, default=REPO_ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "figures" / "dehaze_headroom.json")
    parser.add_argument("--sets", nargs="+", help="only these test sets (default: all)")
    args = parser.parse_args(argv)

    model = evaluation.HSMR(args.model)
    sets = test_sets(args.data, model.bands)
    unknown = set(args.sets or ()) - set(sets)
    if unknown:
        parser.error(f"unknown test sets {sorted(unknown)}; known: {sorted(sets)}")
    results = {name: headroom(model, pairs()) for name, pairs in sets.items() if name in (args.sets or sets)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"model": args.model.name, "sets": results}, indent=2) + "\n")
    print(table(results))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
