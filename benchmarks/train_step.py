"""Training cost of HSMR-Net's two configurations: one optimiser step of each on the same batch.

One step is what ``python -m training train --task dehaze --config lite-1.1.0`` does per batch:
forward, 2.5 SmoothL1 + 0.5 (1 - MS-SSIM), backward, gradient clipping, Adam. Both configurations run in the same process
on the same random batch (8 x 128 px by default, the recipe's), with batch norm and the windowed
channel attention of the shipped model, so the ratio of the two times holds on any machine even
though the seconds do not. Each figure is the median of ``--repeat`` steps after one warm-up step.

    .venv/bin/python -m benchmarks.train_step [--threads 2] [--batch 8] [--crop 128] [--repeat 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import statistics
import time

import torch

from training.archs.hsmr import HSMRConfig, HSMRNet, count_parameters
from training.losses import build_loss
from training.specs import TASK_SPECS

#: The shipped model's channel-attention window (docs/MODELS.md).
WINDOW = 15


def configurations() -> dict[str, HSMRConfig]:
    """The lite configuration as shipped and the full one as ``--config full`` trains it."""
    return {name: dataclasses.replace(config, attention_window=WINDOW)
            for name, config in (("lite", HSMRConfig.lite()), ("full", HSMRConfig.full(norm="batch")))}


def step_seconds(net: HSMRNet, batch: torch.Tensor, target: torch.Tensor, repeat: int) -> float:
    """Median wall-clock seconds of one training step of ``net``."""
    net.train()
    loss_fn = build_loss(TASK_SPECS["dehaze"].losses)
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-4)
    times = []
    for _ in range(repeat + 1):
        began = time.perf_counter()
        optimiser.zero_grad(set_to_none=True)
        loss_fn(net(batch), target)["total"].backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimiser.step()
        times.append(time.perf_counter() - began)
    return statistics.median(times[1:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.train_step",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(0)
    batch = torch.rand(args.batch, 3, args.crop, args.crop, generator=generator) * 0.8
    target = torch.rand(args.batch, 3, args.crop, args.crop, generator=generator) * 0.8
    rows = {}
    for name, config in configurations().items():
        torch.manual_seed(0)
        net = HSMRNet(config)
        seconds = step_seconds(net, batch, target, args.repeat)
        rows[name] = {"parameters": count_parameters(net),
                      "seconds_per_step": round(seconds, 3), "steps_per_hour": round(3600 / seconds)}
    report = {"machine": {"platform": platform.platform(), "threads": args.threads},
              "batch": args.batch, "crop": args.crop, "repeat": args.repeat, "configurations": rows,
              "full_vs_lite": round(rows["full"]["seconds_per_step"] / rows["lite"]["seconds_per_step"], 2)}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
