"""Tiny in-memory scenes and specs for the training tests (no shared data needed)."""

from __future__ import annotations

import dataclasses

import numpy as np

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
