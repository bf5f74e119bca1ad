"""Unlabelled degraded images for semi-supervised training: real inputs with no clean twin.

SSDIE-Net's unsupervised branch learns from dusty photos that have no ground truth. A source here
gives, per split, named uint8 photos (whole images per split, the same rule as the paired sets,
so nothing the evaluation scores is trained on); :class:`UnlabelledCrops` cuts augmented crops and
normalises them as the engine would a raster.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..config import TaskSpec
from ..readers import as_unit, list_images
from .datasets import augment
from .pairs import load_sand_dust, read_uint8
from .prepare import normalize_inputs
from .split import split_items

#: Folder of the real hazy aerial photos (AID, DIOR) under the data root.
REAL_AERIAL_DIR = Path("remote_sensing") / "real_hazy_aerial"


Named = list[tuple[str, np.ndarray]]


def sand_dust_inputs(root: Path) -> dict[str, Named]:
    """The dusty halves of the sand-dust pairs, by the pairs' own split (targets are not used)."""
    return {
        split: [(p.name, p.inputs["optical"]) for p in pairs] for split, pairs in load_sand_dust(root).items()
    }


def real_aerial(root: Path) -> dict[str, Named]:
    """The real hazy aerial photos, split by image."""
    folder = root / REAL_AERIAL_DIR
    if not folder.is_dir():
        return {}
    images = {p.stem: p for p in list_images(folder)}
    return {split: [(f"aerial_{n}", read_uint8(images[n])) for n in names]
            for split, names in split_items(list(images)).items()}  # fmt: skip


def dusty_photos(root: Path) -> dict[str, Named]:
    """SSDIE-Net's unlabelled set here: dusty halves of the sand-dust pairs and real aerial photos."""
    out: dict[str, Named] = {}
    for source in (sand_dust_inputs(root), real_aerial(root)):
        for split, images in source.items():
            out.setdefault(split, []).extend(images)
    return out


UNLABELLED_SOURCES: dict[str, Callable[[Path], dict[str, Named]]] = {
    "dusty_photos": dusty_photos,
}

UNLABELLED_CITATIONS: dict[str, tuple[str, ...]] = {
    "dusty_photos": (
        "Real hazy aerial photos of AID and DIOR (via foreverfruit/HALP; academic use), unlabelled",
    ),
}


class UnlabelledCrops(Dataset):
    """Augmented crops of unlabelled images, normalised like ``spec``'s first input; sample ``i`` is
    a pure function of ``(seed, i)`` like the paired datasets."""

    def __init__(
        self, images: list[np.ndarray], spec: TaskSpec, *, crop: int, length: int, seed: int
    ) -> None:
        self.images = [a for a in images if min(a.shape[1:]) >= crop]
        if not self.images:
            raise ValueError(f"no unlabelled image is at least {crop} px on each side")
        self.spec, self.crop, self.length, self.seed = spec, crop, length, seed

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, index, 5])
        image = self.images[int(rng.integers(len(self.images)))]
        _, height, width = image.shape
        y0, x0 = int(rng.integers(0, height - self.crop + 1)), int(rng.integers(0, width - self.crop + 1))
        (crop,) = augment([as_unit(image[:, y0 : y0 + self.crop, x0 : x0 + self.crop])], rng)
        x, _ = normalize_inputs({self.spec.inputs[0].role: crop}, self.spec)
        return {"input": torch.from_numpy(x)}


def build_unlabelled(
    spec: TaskSpec, root: str | Path, *, crop: int, length: int, seed: int
) -> Dataset | None:
    """The train split of ``spec.unlabelled`` as crops, or ``None`` where the spec has none or the
    data is absent (training then runs supervised only, and says so)."""
    if not spec.unlabelled:
        return None
    if spec.unlabelled not in UNLABELLED_SOURCES:
        raise KeyError(
            f"unknown unlabelled source {spec.unlabelled!r}; known: {', '.join(UNLABELLED_SOURCES)}"
        )
    images = [a for _, a in UNLABELLED_SOURCES[spec.unlabelled](Path(root)).get("train", [])]
    return UnlabelledCrops(images, spec, crop=crop, length=length, seed=seed) if images else None
