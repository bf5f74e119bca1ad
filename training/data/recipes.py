"""Data recipes: which imagery a task learns from and how its degraded inputs are made.

A ``TaskSpec.data`` names one recipe. A recipe draws crops from clean scenes (degraded by its
synthesis) and/or real pairs, for the train, val or test split, and lists the whole test regions
that ``training.evaluate`` restores through the engine.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from ..config import TaskSpec
from ..readers import as_unit
from ..synthesis import SYNTHESES
from ..synthesis.base import Degradation
from .datasets import Mixture, Pair, PairCrops, SceneCrops
from .pairs import PAIR_CITATIONS, PAIR_LOADERS
from .scenes import CLEAN_SCENES, SceneSource, load_scenes, scene_blocks


@dataclass(frozen=True)
class Recipe:
    """Clean scenes + a synthesis, and/or real pairs (optionally degraded further)."""

    synthesis: str
    scenes: tuple[SceneSource, ...] = ()
    pairs: str | None = None
    #: Apply the synthesis to real pairs too (night darkening of rainy photos).
    synthesize_pairs: bool = False
    #: Share of samples drawn from real pairs when both sources exist.
    pair_share: float = 0.5


RECIPES: dict[str, Recipe] = {
    "haze_rgb": Recipe("haze", CLEAN_SCENES),
    "dust_rgb": Recipe("dust", CLEAN_SCENES, pairs="sand_dust", pair_share=0.5),
    "clouds_rgb": Recipe("clouds", CLEAN_SCENES),
    "clouds_s2": Recipe("clouds", CLEAN_SCENES),
    "night_rain": Recipe("night_rain", pairs="roadscene_rain", synthesize_pairs=True, pair_share=1.0),
    # The fusion stage of derain_fuse: the clean visible at night (a perfect de-rainer's output) + IR.
    "night_fuse": Recipe("night_scene", pairs="roadscene_rain", synthesize_pairs=True, pair_share=1.0),
    "gaps_rgb": Recipe("gaps", CLEAN_SCENES),
}


#: Side of the square that a spec with a scene context degrades and normalises as a whole before
#: cutting each crop from it: what stands in for the raster whose statistics the engine feeds.
CONTEXT_REGION = 384


#: Recipes a spec may name whose data is not in ``../shared/data``: why, for the error message.
UNAVAILABLE: dict[str, str] = {
    "sen12ms_cr": "SEN12MS-CR (co-registered Sentinel-1 SAR and cloudy/clear Sentinel-2 triplets) is not in "
    "the shared data, and no other Sentinel-1 imagery is: the SAR variant cannot be trained here",
}


def get_recipe(name: str) -> Recipe:
    if name in UNAVAILABLE:
        raise KeyError(f"data recipe {name!r} has no data: {UNAVAILABLE[name]}")
    if name not in RECIPES:
        raise KeyError(f"unknown data recipe {name!r}; known: {', '.join(RECIPES)}")
    return RECIPES[name]


def recipe_sources(name: str) -> tuple[str, ...]:
    """Citations of the imagery a recipe trains on (they go into the model card)."""
    if name in UNAVAILABLE:
        return (f"none: {UNAVAILABLE[name]}",)
    recipe = get_recipe(name)
    cited = [s.citation for s in recipe.scenes]
    if recipe.synthesis == "haze":
        cited.append("Landsat-8 cirrus-band haze patterns of RS-Haze (zhuqinghe/RS-Haze)")
    if recipe.pairs:
        cited.append(PAIR_CITATIONS[recipe.pairs])
    return tuple(cited)


def bound_synth(spec: TaskSpec, root: str | Path) -> Callable[[dict[str, np.ndarray], Any], Degradation]:
    """The recipe's synthesis with its config (defaults, data paths, ``spec.synthesis`` overrides)."""
    entry = SYNTHESES[get_recipe(spec.data).synthesis]
    config = entry.make_config(Path(root), spec.synthesis)
    bands = spec.inputs[0].bands
    return lambda clean, rng: entry.synth(clean, rng, config, bands)


@functools.lru_cache(maxsize=8)
def _scenes(sources: tuple[SceneSource, ...], root: str, bands: tuple[str, ...]) -> tuple:
    return tuple(load_scenes(sources, root, bands))


@functools.lru_cache(maxsize=8)
def _pairs(name: str, root: str) -> dict[str, list[Pair]]:
    return PAIR_LOADERS[name](Path(root))


def build_dataset(
    spec: TaskSpec, root: str | Path, split: str, *, crop: int, length: int, seed: int, train: bool
) -> Dataset:
    """The crop dataset of ``split`` for ``spec``'s recipe.

    A spec with a scene context gets crops cut from larger regions (``CONTEXT_REGION``): a crop's
    own statistics are a tile's, not the raster's the engine will feed.
    """
    recipe = get_recipe(spec.data)
    region = max(crop, CONTEXT_REGION) if spec.context_input is not None else None
    if region is not None and recipe.pairs:
        raise ValueError(f"recipe {spec.data!r} trains on real pairs, whose crops have no surrounding "
                         "region to take a scene context from; drop the context or the pairs")
    synth = bound_synth(spec, root)
    parts: list[Dataset] = []
    weights: list[float] = []
    scenes = _scenes(recipe.scenes, str(root), tuple(spec.output_bands)) if recipe.scenes else ()
    if scenes:
        kw = {"crop": crop, "length": length, "seed": seed, "train": train, "region": region}
        parts.append(SceneCrops(scenes, split, spec, synth, **kw))
        weights.append(1.0 - recipe.pair_share if recipe.pairs else 1.0)
    if recipe.pairs:
        pairs = _pairs(recipe.pairs, str(root)).get(split, [])
        if pairs:
            pair_synth = synth if recipe.synthesize_pairs else None
            parts.append(PairCrops(pairs, spec, pair_synth, crop=crop, length=length, seed=seed, train=train))
            weights.append(recipe.pair_share)
    if not parts:
        raise FileNotFoundError(f"no imagery for recipe {spec.data!r} under {root}")
    return parts[0] if len(parts) == 1 else Mixture(parts, weights, length, seed)


def evaluation_regions(spec: TaskSpec, root: str | Path, seed: int = 0) -> Iterator[tuple[str, Degradation]]:
    """Every whole test region of the recipe, degraded with a fixed seed: what evaluation restores."""
    recipe = get_recipe(spec.data)
    synth = bound_synth(spec, root)
    if recipe.scenes:
        scenes = _scenes(recipe.scenes, str(root), tuple(spec.output_bands))
        for k, i, name, clean in scene_blocks(scenes, "test"):
            yield name, synth({"optical": clean}, np.random.default_rng([seed, k, i, 3]))
    if recipe.pairs:
        for i, pair in enumerate(_pairs(recipe.pairs, str(root)).get("test", [])):
            inputs = {role: as_unit(a) for role, a in pair.inputs.items()}
            if recipe.synthesize_pairs:
                deg = synth({**inputs, "target": as_unit(pair.target)}, np.random.default_rng([seed, i, 4]))
            else:
                deg = Degradation(inputs=inputs, target=as_unit(pair.target))
            yield pair.name, deg
