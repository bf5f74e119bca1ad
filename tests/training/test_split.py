"""The spatial split: disjoint, complete, seeded, independent of crop size; crops stay in a split."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from training.data.datasets import SceneCrops
from training.data.split import grid_blocks, split_counts, split_items, split_scene
from training.synthesis import SYNTHESES

from .helpers import tiny_scene, tiny_spec


def test_blocks_tile_the_scene_exactly():
    blocks = grid_blocks(1947, 1933, 256)
    cover = np.zeros((1947, 1933), dtype=int)
    for b in blocks:
        cover[b.y0 : b.y1, b.x0 : b.x1] += 1
        assert min(b.shape) >= 256
    assert (cover == 1).all()


def test_split_is_disjoint_complete_and_seeded():
    splits = split_scene("sentinel2_virginia", 1947, 1933)
    all_blocks = [b for blocks in splits.values() for b in blocks]
    assert len(all_blocks) == len(set(all_blocks)) == len(grid_blocks(1947, 1933))
    assert splits == split_scene("sentinel2_virginia", 1947, 1933)
    assert splits != split_scene("sentinel2_virginia", 1947, 1933, seed=1)
    assert len(splits["test"]) == len(splits["val"]) == round(0.15 * 49)


@pytest.mark.parametrize(
    ("n", "expected"), [(1, (1, 0, 0)), (2, (1, 0, 1)), (3, (1, 1, 1)), (49, (35, 7, 7))]
)
def test_split_counts(n, expected):
    counts = split_counts(n)
    assert (counts["train"], counts["val"], counts["test"]) == expected


def test_item_split_is_disjoint():
    names = [f"img{i}" for i in range(40)]
    split = split_items(names)
    assert sorted(split["train"] + split["val"] + split["test"]) == sorted(names)
    assert len(split["test"]) == 6


def test_crops_never_leave_their_split():
    scene = tiny_scene(size=96)
    spec = tiny_spec()
    entry = SYNTHESES["haze"]
    synth = lambda clean, rng: entry.synth(clean, rng, entry.config_cls(), spec.inputs[0].bands)  # noqa: E731
    test_blocks = split_scene(scene.name, 96, 96, block=32)["test"]
    dataset = SceneCrops([scene], "train", spec, synth, crop=32, length=20, seed=0, train=False, block=32)
    for i in range(len(dataset)):
        target = dataset.degradation(i).target
        for b in test_blocks:  # no training crop equals any test block's content
            assert not np.array_equal(target, scene.image[:, b.y0 : b.y1, b.x0 : b.x1])
    # Every training crop is a window of one train block.
    train_blocks = split_scene(scene.name, 96, 96, block=32)["train"]
    for i in range(5):
        target = dataset.degradation(i).target
        assert any(np.array_equal(target, scene.image[:, b.y0 : b.y1, b.x0 : b.x1]) for b in train_blocks)


def test_samples_are_a_pure_function_of_seed_and_index():
    scene = tiny_scene()
    spec = tiny_spec()
    entry = SYNTHESES["haze"]
    synth = lambda clean, rng: entry.synth(clean, rng, entry.config_cls(), spec.inputs[0].bands)  # noqa: E731
    a = SceneCrops([scene], "train", spec, synth, crop=32, length=4, seed=3, train=True, block=32)
    b = SceneCrops([scene], "train", spec, synth, crop=32, length=4, seed=3, train=True, block=32)
    assert all(np.array_equal(a[i]["input"], b[i]["input"]) for i in range(4))
    assert not np.array_equal(a[0]["input"], a[1]["input"])


def test_crop_larger_than_a_block_is_refused():
    spec = tiny_spec()
    with pytest.raises(ValueError, match="larger than the split block"):
        SceneCrops(
            [tiny_scene()], "train", spec, lambda c, r: None, crop=64, length=1, seed=0, train=True, block=32
        )


def test_a_region_stands_in_for_the_raster_and_the_crop_for_a_tile():
    # With a region, the crop is a window of a larger degraded square, normalised with that square's
    # statistics, and the scene context describes the square: the same for every window of it.
    from backend.model_card import SceneContext
    from backend.normalization import compute_stats, context_vector, normalize

    scene = tiny_scene(size=96)
    hazy = tiny_spec().inputs[0]
    spec = tiny_spec(inputs=(dataclasses.replace(hazy, context=SceneContext("hazy_context", (1.0, 50.0))),))
    entry = SYNTHESES["haze"]
    synth = lambda clean, rng: entry.synth(clean, rng, entry.config_cls(), spec.inputs[0].bands)  # noqa: E731
    dataset = SceneCrops([scene], "train", spec, synth, crop=16, length=6, seed=0, train=False, block=48,
                         region=40)
    for i in range(len(dataset)):
        item = dataset[i]
        deg, window = dataset.region_degradation(i)
        region = deg.inputs["optical"]
        assert region.shape[1:] == (40, 40) and item["input"].shape[1:] == (16, 16)
        stats = compute_stats(region, hazy.normalization, context=spec.inputs[0].context)
        expected = normalize(region, hazy.normalization, stats)[(slice(None), *window)]
        assert np.allclose(item["input"].numpy(), expected, atol=1e-6)
        assert np.allclose(item["context"].numpy(), context_vector(hazy.normalization, stats, 3), atol=1e-6)
    with pytest.raises(ValueError, match="smaller than the crop"):
        SceneCrops([scene], "train", spec, synth, crop=32, length=1, seed=0, train=True, block=48, region=16)
