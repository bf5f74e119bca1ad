"""Tiny in-memory scenes and specs for the training tests (no shared data needed)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import torch

from training.archs import build_arch
from training.config import TrainConfig
from training.data.scenes import Scene
from training.specs import get_spec
from training.synthesis.noise import smooth_noise


def tiny_scene(name: str = "synthetic", size: int = 96, seed: int = 0) -> Scene:
    """A smooth, textured RGB scene in [0, 1] (blocks of 32 px give 9 blocks: train/val/test)."""
    rng = np.random.default_rng(seed)
    bands = [0.15 + 0.7 * smooth_noise((size, size), rng, base_scale=24.0) for _ in range(3)]
    return Scene(name, np.stack(bands).astype(np.float32), ("red", "green", "blue"))


def tiny_spec(task: str = "dehaze", **changes):
    """The task's spec with the 2-layer test network and a short schedule."""
    cfg = TrainConfig(steps=30, batch_size=4, crop=32, lr=5e-3, val_every=15, val_samples=4, log_every=5,
                      lr_milestones=(0.9,))  # fmt: skip
    return dataclasses.replace(get_spec(task), **{"arch": "tiny", "lite": cfg, "full": cfg, **changes})


def export_preset(tmp_path: Path, task: str, arch: str, preset: str) -> tuple[Any, Any, Any]:
    """A seeded, untrained ``arch`` ``preset`` for ``task``'s spec, checkpointed and exported to ONNX;
    returns the export report, the ``RestorationModel`` and the bare network."""
    from training.checkpoint import save_checkpoint
    from training.export import export_checkpoint
    from training.model import RestorationModel

    spec = dataclasses.replace(get_spec(task), arch=arch)
    torch.manual_seed(0)
    net, cfg = build_arch(arch, preset, in_channels=sum(len(s.bands) for s in spec.inputs),
                          out_channels=len(spec.output_bands))  # fmt: skip
    model = RestorationModel(net, spec).eval()
    ckpt = tmp_path / f"{task}-{arch}-{preset}.pt"
    save_checkpoint(ckpt, spec=spec, train_config=spec.lite, arch_config=cfg, model=model, step=1,
                    best_psnr=float("nan"))  # fmt: skip
    return export_checkpoint(ckpt, tmp_path / f"{task}-{arch}-{preset}.onnx"), model, net


def save_planned(path: Path, planned: Any, /, *, net: torch.nn.Module | None = None, step: int = 10,
                 **metadata: Any) -> torch.nn.Module:  # fmt: skip
    """A checkpoint of a planned stage (``training.chain.PlannedStage``) as the training loop writes
    it, with ``metadata`` beside the weights: random ones unless ``net`` is given. Returns the net."""
    from training.checkpoint import save_checkpoint
    from training.model import RestorationModel

    built, config = build_arch(planned.spec.arch, planned.arch_config)
    net = net if net is not None else built
    save_checkpoint(path, spec=planned.spec, train_config=planned.train_config, arch_config=config,
                    model=RestorationModel(net, planned.spec), step=step, best_psnr=float("nan"),
                    **metadata)  # fmt: skip
    return net
