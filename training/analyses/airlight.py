"""How well the dark channel prior's airlight estimate recovers the synthetic airlight of training crops.

A network fed a per-image airlight estimate could stop guessing the haze colour; this measures how
good such an estimate can be on what the network trains on. For the first ``samples`` training crops
of a dehaze config (default the shipped ``lite-1.1.0``: bluish airlights, beta 0-2, 15 % thin haze)
it compares the colour of ``training.baselines.dcp.estimate_airlight`` (brightest pixel among the
top 0.1 % of the dark channel) with the true airlight, both normalised to a mean of 1, against simply
assuming grey, and reports the estimate's level relative to the truth.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..baselines.dcp import dark_channel, estimate_airlight
from ..data.recipes import build_dataset
from ..paths import default_data_root
from ..specs import get_spec


def airlight_errors(root: Path, crop: int = 128, samples: int = 300, config: str = "lite-1.1.0") -> dict:
    """Per crop: the largest per-band colour error of assuming grey and of the DCP estimate, and the
    estimate's level over the true one; their medians and 10th/90th percentiles."""
    spec = get_spec("dehaze", config=config)
    crops = build_dataset(spec, root, "train", crop=crop, length=samples, seed=0, train=True)
    grey, estimated, level = [], [], []
    for i in range(samples):
        deg = crops.degradation(i)
        hazy, true = deg.inputs["optical"], deg.info["airlight"]
        estimate = estimate_airlight(hazy, dark_channel(hazy))
        truth = true / true.mean()
        estimated.append(float(np.abs(estimate / estimate.mean() - truth).max()))
        grey.append(float(np.abs(1.0 - truth).max()))
        level.append(float(estimate.mean() / true.mean()))

    def spread(values: list[float]) -> dict[str, float]:
        p10, p50, p90 = np.percentile(values, [10, 50, 90])
        return {"median": round(float(p50), 3), "p10": round(float(p10), 3), "p90": round(float(p90), 3)}

    return {"samples": samples, "crop": crop, "config": config, "assume_grey": spread(grey),
            "dcp_estimate": spread(estimated), "level": spread(level)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training analyze airlight",
                                     description=__doc__.splitlines()[0])  # fmt: skip
    parser.add_argument("--data", type=Path, default=default_data_root())
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--config", default="lite-1.1.0", help="the dehaze config whose crops to draw")
    args = parser.parse_args(argv)
    result = airlight_errors(args.data, args.crop, args.samples, args.config)
    for name in ("assume_grey", "dcp_estimate"):
        s = result[name]
        print(f"{name}: largest per-band colour error, median {s['median']:.3f}, "
              f"90th percentile {s['p90']:.3f}")
    s = result["level"]
    print(f"estimated / true airlight level: median {s['median']:.2f} (10th-90th percentile "
          f"{s['p10']:.2f}-{s['p90']:.2f})")
    return 0
