"""Does a checkpoint's validation score depend on its batch-norm running statistics?

Scores a checkpoint on validation crops of its own recipe (the spec saved in it), recomputes its
batch-norm statistics over ``batches`` training batches (``training.precise_bn``), and scores it
again. ``--out`` saves the checkpoint with the new statistics, ready for ``python -m training export``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import default_collate

from .. import metrics
from ..checkpoint import load_checkpoint, model_from_checkpoint
from ..data.recipes import build_dataset
from ..model import RestorationModel
from ..paths import default_data_root
from ..precise_bn import recompute_batch_norm_statistics


def _forward(model: torch.nn.Module, item: dict[str, torch.Tensor]) -> torch.Tensor:
    """The network on a batched item, with its scene context when it has one."""
    return model(item["input"], item.get("context"))


def score(model: RestorationModel, val, count: int = 32) -> float:
    """Mean PSNR (dB) of ``count`` validation crops, each clipped to [0, 1] as the evaluation does."""
    model.eval()
    with torch.no_grad():
        scores = [metrics.psnr(_forward(model, item).clamp(0, 1).numpy(), item["target"].clamp(0, 1).numpy())
                  for item in ({k: v[None] for k, v in val[i].items()} for i in range(count))]  # fmt: skip
    return float(np.mean(scores))


def precise_bn(checkpoint: Path, root: Path, *, batches: int = 100, batch_size: int = 8, seed: int = 1234,
               out: Path | None = None) -> dict:  # fmt: skip
    """Validation PSNR with the running statistics and with statistics over ``batches`` batches
    (crops of ``seed``, not the run's own validation); ``out`` saves the recomputed checkpoint."""
    payload = load_checkpoint(checkpoint)
    model, spec = model_from_checkpoint(payload)
    crop = int(payload["train_config"]["crop"]) if "train_config" in payload else 128
    train = build_dataset(spec, root, "train", crop=crop, length=batches * batch_size, seed=seed, train=True)
    val = build_dataset(spec, root, "val", crop=crop, length=32, seed=seed + 1, train=False)

    def loader():  # samples step * batch_size + k, as the training loop reads them
        for i in range(batches):
            yield default_collate([train[i * batch_size + k] for k in range(batch_size)])

    before = score(model, val)
    recompute_batch_norm_statistics(model, loader(), _forward)
    after = score(model, val)
    if out is not None:
        payload["model"] = model.net.state_dict()
        torch.save(payload, out)
    return {"step": int(payload["step"]), "running": round(before, 2), "precise": round(after, 2),
            "batches": batches}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training analyze precise_bn",
                                     description=__doc__.splitlines()[0])  # fmt: skip
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--data", type=Path, default=default_data_root())
    parser.add_argument("--batches", type=int, default=100, help="training batches of 8 for the statistics")
    parser.add_argument("--seed", type=int, default=1234, help="of the crops (not the run's own validation)")
    parser.add_argument("--save", type=Path, help="save the checkpoint with the recomputed statistics")
    args = parser.parse_args(argv)
    result = precise_bn(args.checkpoint, args.data, batches=args.batches, seed=args.seed, out=args.save)
    print(f"{args.checkpoint} (step {result['step']}): validation PSNR {result['running']:.2f} dB with its "
          f"running statistics, {result['precise']:.2f} dB with statistics over {result['batches']} batches")
    return 0
