"""Loaders for the real paired photo sets under ``../shared/data``, split by whole image.

Photos are held as uint8 (a 400-pair set is 10x smaller than in float32) and turned into the unit
domain (``/ 255``) only when a crop is taken, by ``readers.as_unit``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from osgeo import gdal

from ..readers import list_images, paired_folders
from .datasets import Pair
from .split import split_items

gdal.UseExceptions()


def read_uint8(path: Path) -> np.ndarray:
    """A photo as uint8 (C, H, W)."""
    array = gdal.Open(str(path)).ReadAsArray()
    return (array[None] if array.ndim == 2 else array).astype(np.uint8)


def load_sand_dust(root: Path) -> dict[str, list[Pair]]:
    """``sand_dust/extended_512`` side-by-side pairs (clean left, dusty right), 70/15/15 by image.

    Only the extended set is used: it is drawn from the same source as ``basic``, so mixing the two
    could put one scene in both train and test.
    """
    folder = root / "sand_dust" / "extended_512"
    if not folder.is_dir():
        return {}
    images = {p.stem: p for p in list_images(folder)}
    out: dict[str, list[Pair]] = {}
    for split, names in split_items(list(images)).items():
        pairs = []
        for name in names:
            image = read_uint8(images[name])
            half = image.shape[2] // 2
            pairs.append(Pair(f"dust_{name}", {"optical": image[:, :, half : 2 * half]}, image[:, :, :half]))
        out[split] = pairs
    return out


def load_roadscene_rain(root: Path) -> dict[str, list[Pair]]:
    """RoadScene-rain triplets: rainy visible + infrared -> clean visible; its own test folder is
    the test split, and 15 % of its train folder (by image) is held out for validation."""
    base = root / "visible_infrared" / "roadscene_rain"
    if not base.is_dir():
        return {}

    def load(folder: Path) -> dict[str, Pair]:
        triplets = paired_folders(
            folder / "Vis" / "input", folder / "Vis" / "target", folder / "Inf" / "input"
        )
        out = {}
        for rainy, clean, infrared in triplets:
            ir = read_uint8(infrared)[:1]
            out[rainy.stem] = Pair(
                f"{folder.name}_{rainy.stem}",
                {"optical": read_uint8(rainy), "infrared": ir},
                read_uint8(clean),
            )
        return out

    train = load(base / "train")
    split = split_items(list(train))
    return {
        "train": [train[n] for n in split["train"] + split["test"]],
        "val": [train[n] for n in split["val"]],
        "test": list(load(base / "test").values()),
    }


PAIR_LOADERS: dict[str, Callable[[Path], dict[str, list[Pair]]]] = {
    "sand_dust": load_sand_dust,
    "roadscene_rain": load_roadscene_rain,
}

PAIR_CITATIONS: dict[str, str] = {
    "sand_dust": "Sand-dust pairs, extended set (huorantiancai/The-improved-pix2pix Sand-dust Image "
    "Enhancement; no licence file)",
    "roadscene_rain": "RoadScene-rain from NiteDR (CidanShi/NiteDR, TMM 2024) and RoadScene (hanna-xu)",
}
