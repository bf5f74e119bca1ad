"""Crop datasets: random crops of one split, degraded on the fly, normalised like the engine does.

Sample ``i`` of a dataset is a pure function of ``(seed, i)``: the training loop reads sample
``step * batch + k``, so a resumed run sees exactly the batches it would have seen, and validation
and test sets are fixed without storing them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from ..config import TaskSpec
from ..readers import as_unit
from ..synthesis.base import Degradation
from .prepare import prepare_pair
from .scenes import Scene
from .split import DEFAULT_BLOCK, Block, split_scene

#: ``synth(clean_by_role, rng) -> Degradation`` with its config already bound.
BoundSynth = Callable[[dict[str, np.ndarray], np.random.Generator], Degradation]


def augment(arrays: Sequence[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """The same random flip/rotation of every (C, H, W) array (a square crop keeps its shape)."""
    k, flip = int(rng.integers(4)), rng.random() < 0.5
    out = []
    for a in arrays:
        a = np.rot90(a, k, axes=(1, 2))
        out.append(np.ascontiguousarray(a[:, :, ::-1] if flip else a))
    return out


def _to_tensors(x: np.ndarray, y: np.ndarray, context: np.ndarray | None = None) -> dict[str, torch.Tensor]:
    item = {"input": torch.from_numpy(x), "target": torch.from_numpy(y)}
    if context is not None:
        item["context"] = torch.from_numpy(context)
    return item


class SceneCrops(Dataset):
    """Crops of the ``split`` blocks of clean scenes, degraded by ``synth``.

    Blocks are chosen in proportion to their area, crops lie inside one block (no straddling).
    With ``region``, a square of that size (at most the block) is degraded and normalised as a
    whole and the crop cut from it: the region stands in for the raster whose statistics (the
    normalisation's and a scene context's) the engine computes, the crop for a tile.
    """

    def __init__(
        self,
        scenes: Sequence[Scene],
        split: str,
        spec: TaskSpec,
        synth: BoundSynth,
        *,
        crop: int,
        length: int,
        seed: int,
        train: bool,
        block: int = DEFAULT_BLOCK,
        split_seed: int = 0,
        region: int | None = None,
    ) -> None:
        if crop > block:
            raise ValueError(f"crop {crop} is larger than the split block size {block}")
        if region is not None and region < crop:
            raise ValueError(f"region {region} is smaller than the crop {crop}")
        self.scenes, self.spec, self.synth = list(scenes), spec, synth
        self.crop, self.length, self.seed, self.train = crop, length, seed, train
        self.region = region
        self.blocks: list[tuple[int, Block]] = []
        for index, scene in enumerate(self.scenes):
            _, height, width = scene.image.shape
            for b in split_scene(scene.name, height, width, block=block, seed=split_seed)[split]:
                self.blocks.append((index, b))
        if not self.blocks:
            raise ValueError(f"no {split!r} blocks in scenes {[s.name for s in self.scenes]}")
        area = np.array([b.shape[0] * b.shape[1] for _, b in self.blocks], dtype=np.float64)
        self.weights = area / area.sum()

    def __len__(self) -> int:
        return self.length

    def _clean_square(self, rng: np.random.Generator, size: int, *, shrink: bool = False) -> np.ndarray:
        """A clean ``size`` px square inside one block (drawn by area), augmented in training;
        with ``shrink``, at most the block's shorter side."""
        scene_index, block = self.blocks[int(rng.choice(len(self.blocks), p=self.weights))]
        bh, bw = block.shape
        if shrink:
            size = min(size, bh, bw)
        y0 = block.y0 + int(rng.integers(0, bh - size + 1))
        x0 = block.x0 + int(rng.integers(0, bw - size + 1))
        clean = self.scenes[scene_index].image[:, y0 : y0 + size, x0 : x0 + size]
        if self.train:
            (clean,) = augment([clean], rng)
        return clean

    def degradation(self, index: int) -> Degradation:
        """The unit-domain pair behind sample ``index`` (figures and tests use it)."""
        rng = np.random.default_rng([self.seed, index])
        return self.synth({"optical": self._clean_square(rng, self.crop)}, rng)

    def region_degradation(self, index: int) -> tuple[Degradation, tuple[slice, slice]]:
        """The degraded region behind sample ``index`` and the crop's window inside it."""
        rng = np.random.default_rng([self.seed, index, 3])
        clean = self._clean_square(rng, self.region, shrink=True)
        size = clean.shape[1]
        cy, cx = (int(v) for v in rng.integers(0, size - self.crop + 1, size=2))
        window = (slice(cy, cy + self.crop), slice(cx, cx + self.crop))
        return self.synth({"optical": clean}, rng), window

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if self.region is not None:
            deg, window = self.region_degradation(index)
            return _to_tensors(*prepare_pair(deg, self.spec, window))
        return _to_tensors(*prepare_pair(self.degradation(index), self.spec))


@dataclass
class Pair:
    """One real pair in the unit domain: degraded inputs by role and the clean target."""

    name: str
    inputs: dict[str, np.ndarray]
    target: np.ndarray


class PairCrops(Dataset):
    """Crops of real pairs (whole images per split), optionally degraded further by ``synth``.

    ``synth`` receives the real degraded inputs as its "clean" images and the real clean image as
    ``clean["target"]`` (e.g. to darken a rainy day photo and its clean twin into a night pair), and
    returns the target that implies.
    """

    def __init__(
        self,
        pairs: Sequence[Pair],
        spec: TaskSpec,
        synth: BoundSynth | None,
        *,
        crop: int,
        length: int,
        seed: int,
        train: bool,
    ) -> None:
        usable = [p for p in pairs if min(p.target.shape[1:]) >= crop]
        if not usable:
            raise ValueError(f"no pair is at least {crop} px on each side")
        self.pairs, self.spec, self.synth = usable, spec, synth
        self.crop, self.length, self.seed, self.train = crop, length, seed, train

    def __len__(self) -> int:
        return self.length

    def degradation(self, index: int) -> Degradation:
        rng = np.random.default_rng([self.seed, index, 1])
        pair = self.pairs[int(rng.integers(len(self.pairs)))]
        _, height, width = pair.target.shape
        y0, x0 = int(rng.integers(0, height - self.crop + 1)), int(rng.integers(0, width - self.crop + 1))
        window = (slice(None), slice(y0, y0 + self.crop), slice(x0, x0 + self.crop))
        roles = list(pair.inputs)
        arrays = [as_unit(pair.inputs[r][window]) for r in roles] + [as_unit(pair.target[window])]
        if self.train:
            arrays = augment(arrays, rng)
        inputs, target = dict(zip(roles, arrays[:-1], strict=True)), arrays[-1]
        if self.synth is None:
            return Degradation(inputs=inputs, target=target)
        return self.synth({**inputs, "target": target}, rng)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return _to_tensors(*prepare_pair(self.degradation(index), self.spec))


class Mixture(Dataset):
    """Samples drawn from several datasets with fixed probabilities (deterministic per index)."""

    def __init__(self, parts: Sequence[Dataset], weights: Sequence[float], length: int, seed: int) -> None:
        self.parts, self.length, self.seed = list(parts), length, seed
        w = np.asarray(weights, dtype=np.float64)
        self.weights = w / w.sum()

    def __len__(self) -> int:
        return self.length

    def _pick(self, index: int) -> Any:
        rng = np.random.default_rng([self.seed, index, 2])
        return self.parts[int(rng.choice(len(self.parts), p=self.weights))]

    def degradation(self, index: int) -> Degradation:
        return self._pick(index).degradation(index)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return self._pick(index)[index]
