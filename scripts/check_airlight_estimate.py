"""How well the dark channel prior's airlight estimate recovers the synthetic airlight of training crops.

A network fed a per-image airlight estimate could stop guessing the haze colour; this measures how
good such an estimate can be on what the network trains on. For the first ``--samples`` training
crops of the dehaze recipe (bluish airlights, beta 0-2, 15 % thin haze) it compares the colour of
``training.baselines.dcp.estimate_airlight`` (brightest pixel among the top 0.1 % of the dark
channel) with the true airlight, both normalised to a mean of 1, against simply assuming grey,
and reports the estimate's level relative to the truth.

    .venv/bin/python scripts/check_airlight_estimate.py --crop 128 --samples 300
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "scripts"))

from train_dehaze_hsmr import make_datasets  # noqa: E402

from training.baselines.dcp import dark_channel, estimate_airlight  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO_ROOT.parent / "shared" / "data")
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args(argv)
    _, _, train, _ = make_datasets(args.data, args.crop, args.samples, 0, 0.15, None, (0.0, 2.0))
    grey_err, est_err, level = [], [], []
    for i in range(args.samples):
        deg = train.degradation(i)
        hazy, true = deg.inputs["optical"], deg.info["airlight"]
        estimate = estimate_airlight(hazy, dark_channel(hazy))
        truth = true / true.mean()
        est_err.append(np.abs(estimate / estimate.mean() - truth).max())
        grey_err.append(np.abs(1.0 - truth).max())
        level.append(estimate.mean() / true.mean())
    for name, values in (("assume grey", grey_err), ("DCP estimate", est_err)):
        print(f"{name}: largest per-band colour error, median {np.median(values):.3f}, "
              f"90th percentile {np.percentile(values, 90):.3f}")
    p10, p50, p90 = np.percentile(level, [10, 50, 90])
    print(f"estimated / true airlight level: median {p50:.2f} (10th-90th percentile {p10:.2f}-{p90:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
