"""Does a checkpoint's validation score depend on its batch-norm running statistics?

Scores a ``scripts/train_dehaze_hsmr.py`` checkpoint on validation crops of its own recipe (read from
the checkpoint), recomputes its batch-norm statistics over ``--batches`` training batches
(``training.precise_bn``), and scores it again. ``--out`` saves the checkpoint with the new statistics,
ready for ``scripts/export_dehaze_hsmr.py``.

    .venv/bin/python scripts/check_precise_bn.py runs/hsmr_lite_v14/last.pt --out /tmp/v14_pbn.pt
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import default_collate

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "scripts"))

from train_dehaze_hsmr import make_datasets  # noqa: E402

from training import metrics  # noqa: E402
from training.archs.hsmr import HSMRConfig, HSMRNet  # noqa: E402
from training.checkpoint import load_checkpoint  # noqa: E402
from training.data.scenes import RGB  # noqa: E402
from training.precise_bn import recompute_batch_norm_statistics  # noqa: E402


def _literal(args: dict[str, str], key: str, default: object) -> object:
    """A recipe argument as the training script saved it (``str`` of the value); older runs lack some."""
    value = args.get(key)
    return default if value in (None, "None") else ast.literal_eval(value)


def forward(model: HSMRNet, item: dict[str, torch.Tensor]) -> torch.Tensor:
    """The model on a batched item, with its scene context when it has one."""
    return model(item["input"], item.get("context"))


def score(model: HSMRNet, val, count: int = 32) -> float:
    """Mean PSNR (dB) of ``count`` validation crops, each clipped to [0, 1] as the evaluation does
    (the former train script's validation, so the numbers compare with its runs' histories)."""
    model.eval()
    with torch.no_grad():
        scores = [metrics.psnr(forward(model, item).clamp(0, 1).numpy(), item["target"].clamp(0, 1).numpy())
                  for item in ({k: v[None] for k, v in val[i].items()} for i in range(count))]  # fmt: skip
    return float(np.mean(scores))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--batches", type=int, default=100, help="training batches of 8 for the statistics")
    parser.add_argument("--seed", type=int, default=1234, help="of the crops (not the run's own validation)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, help="save the checkpoint with the recomputed statistics")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    checkpoint = load_checkpoint(args.checkpoint)
    run = checkpoint["args"]
    gain_share = _literal(run, "band_gain", (0.0,))[0]
    extras = (_literal(run, "offset", 0.0), _literal(run, "nodata", 0.0), gain_share)
    if tuple(checkpoint["task_spec"]["output_bands"]) != RGB or any(extras):
        raise SystemExit("only RGB recipes without offset, nodata collars or band gains are reproduced here")
    model = HSMRNet(HSMRConfig(**checkpoint["arch_config"]))
    model.load_state_dict(checkpoint["model"])
    _, _, train, val = make_datasets(
        Path(run["data"]), int(run["crop"]), 10**6, args.seed,
        light_share=_literal(run, "light_haze", 0.0),
        airlight_angstrom=tuple(_literal(run, "airlight_angstrom", (0.0, 0.0))),
        light_tau=tuple(_literal(run, "light_tau", (0.02, 0.2))),
        context=tuple(_literal(run, "scene_context", ())), region=_literal(run, "region", None),
        rs_haze=_literal(run, "rs_haze", 0.0))

    def batches():  # samples step * 8 + k, as the training loop reads them
        for i in range(args.batches):
            yield default_collate([train[i * 8 + k] for k in range(8)])

    before = score(model, val)
    recompute_batch_norm_statistics(model, batches(), forward)
    after = score(model, val)
    print(f"{args.checkpoint} (step {checkpoint['step']}): validation PSNR {before:.2f} dB with its running "
          f"statistics, {after:.2f} dB with statistics over {args.batches} batches")
    if args.out is not None:
        checkpoint["model"] = model.state_dict()
        torch.save(checkpoint, args.out)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
