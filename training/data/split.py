"""A seeded spatial train/val/test split of each scene, so test regions are never seen in training.

A scene of H x W pixels is cut into a grid of ``H // block`` x ``W // block`` blocks (the leftover
pixels join the last row and column, so every block is at least ``block`` pixels wide). A seeded
permutation, keyed by the scene name, assigns 15 % of the blocks to test, 15 % to val and the rest to
train (at least one test and one val block when the scene has 3 or more blocks; a 2-block scene
gives one train and one test block; a 1-block scene is train only). Crops are drawn inside a single
block and are never larger than ``block``, so no crop straddles two splits. The split depends only
on the scene name, its size, ``block`` and ``seed``: changing the crop size or the model keeps it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

SPLITS = ("train", "val", "test")
DEFAULT_BLOCK = 256
DEFAULT_SEED = 0


@dataclass(frozen=True)
class Block:
    """A rectangle of a scene: rows ``y0:y1`` and columns ``x0:x1``."""

    y0: int
    y1: int
    x0: int
    x1: int

    @property
    def shape(self) -> tuple[int, int]:
        return self.y1 - self.y0, self.x1 - self.x0


def _edges(size: int, block: int) -> list[int]:
    count = max(size // block, 1)
    return [i * block for i in range(count)] + [size]


def grid_blocks(height: int, width: int, block: int = DEFAULT_BLOCK) -> list[Block]:
    """The scene's blocks in row-major order."""
    ys, xs = _edges(height, block), _edges(width, block)
    return [Block(ys[r], ys[r + 1], xs[c], xs[c + 1]) for r in range(len(ys) - 1) for c in range(len(xs) - 1)]


def split_counts(n_blocks: int, val: float = 0.15, test: float = 0.15) -> dict[str, int]:
    """How many blocks each split gets."""
    if n_blocks == 1:
        return {"train": 1, "val": 0, "test": 0}
    if n_blocks == 2:
        return {"train": 1, "val": 0, "test": 1}
    n_test = max(1, round(test * n_blocks))
    n_val = max(1, round(val * n_blocks))
    return {"train": n_blocks - n_test - n_val, "val": n_val, "test": n_test}


def split_scene(
    name: str, height: int, width: int, *, block: int = DEFAULT_BLOCK, seed: int = DEFAULT_SEED
) -> dict[str, list[Block]]:
    """The blocks of scene ``name`` in each split (see the module docstring for the rule)."""
    blocks = grid_blocks(height, width, block)
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    order = rng.permutation(len(blocks))
    counts = split_counts(len(blocks))
    out: dict[str, list[Block]] = {}
    start = 0
    for split in ("test", "val", "train"):
        out[split] = [blocks[i] for i in sorted(order[start : start + counts[split]])]
        start += counts[split]
    return {split: out[split] for split in SPLITS}


def split_items(names: list[str], *, seed: int = DEFAULT_SEED) -> dict[str, list[str]]:
    """The same rule for collections of separate images (photo pairs): whole images per split."""
    rng = np.random.default_rng([seed, zlib.crc32("|".join(sorted(names)).encode())])
    order = [sorted(names)[i] for i in rng.permutation(len(names))]
    counts = split_counts(len(names))
    n_test, n_val = counts["test"], counts["val"]
    return {
        "train": sorted(order[n_test + n_val :]),
        "val": sorted(order[n_test : n_test + n_val]),
        "test": sorted(order[:n_test]),
    }
