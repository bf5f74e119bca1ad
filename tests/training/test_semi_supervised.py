"""The semi-supervised branch: Retinex pseudo-labels, consistency, and training with unlabelled data."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

from training.data.unlabelled import UnlabelledCrops
from training.loop import train
from training.semi_supervised import build_unsupervised_loss, single_scale_retinex

from .helpers import tiny_scene, tiny_spec
from .test_loop import _datasets

torch.set_num_threads(1)


def test_retinex_removes_a_uniform_colour_cast():
    scene = torch.from_numpy(tiny_scene(size=64).image)[None]
    cast = scene * torch.tensor([1.0, 0.7, 0.3]).view(1, 3, 1, 1)  # an orange tint
    label_clean, label_cast = single_scale_retinex(scene, 8.0), single_scale_retinex(cast, 8.0)
    assert label_clean.min() >= 0 and label_clean.max() <= 1

    def spread(image: torch.Tensor) -> float:  # how far apart the band means are
        means = image.flatten(2).mean(-1)[0]
        return float(means.max() - means.min())

    # Each band is divided by its own surround: the tint that made blue 0.3 of red is gone.
    assert spread(cast) > 0.25 and spread(label_cast) < 0.1
    assert torch.allclose(label_cast, label_clean, atol=0.05)


def test_unsupervised_terms_are_zero_for_a_noise_free_identity_and_refuse_unknown_names():
    loss = build_unsupervised_loss({"consistency": 1.0}, (0.0, 1.0), (0.0, 1.0), noise_sigma=0.0)
    u = torch.rand(2, 3, 16, 16)
    terms = loss(lambda x: x, u)
    assert float(terms["consistency"]) == 0.0 and torch.equal(terms["restored"], u)
    noisy = build_unsupervised_loss({"consistency": 1.0}, (0.0, 1.0), (0.0, 1.0), noise_sigma=0.1)
    assert float(noisy(lambda x: x, u)["total"]) > 0.0
    with pytest.raises(KeyError, match="perceptual"):
        build_unsupervised_loss({"perceptual": 1.0}, (0.0, 1.0), (0.0, 1.0))


def test_the_retinex_label_lives_in_the_outputs_range():
    loss = build_unsupervised_loss({"retinex": 1.0}, (-1.0, 0.6), (-1.0, 0.6))
    u = torch.rand(1, 3, 24, 24) * 1.6 - 1.0
    perfect = loss(lambda x: single_scale_retinex((x + 1.0) / 1.6) * 1.6 - 1.0, u)
    assert float(perfect["retinex"]) < 1e-6


def test_training_with_unlabelled_images_logs_every_term_and_the_critic_sees_them(tmp_path):
    spec = tiny_spec("desand", losses={"l1": 1.0}, unsupervised={"consistency": 0.5, "retinex": 0.1})
    cfg = spec.lite.replace(steps=4, val_every=4, log_every=2, adversarial_weight=0.01)
    train_set, val_set = _datasets(spec, cfg)
    photos = [(np.random.default_rng(i).random((3, 48, 40)) * 255).astype(np.uint8) for i in range(3)]
    unlabelled = UnlabelledCrops(photos, spec, crop=cfg.crop, length=cfg.steps * cfg.batch_size, seed=0)
    assert unlabelled[0]["input"].shape == (3, cfg.crop, cfg.crop)
    result = train(spec, cfg, train_set=train_set, val_set=val_set, out_dir=tmp_path, progress=False,
                   unlabelled_set=unlabelled)  # fmt: skip
    assert result.steps == 4
    with open(tmp_path / "metrics.csv", newline="") as f:
        names = {r["name"] for r in csv.DictReader(f) if r["split"] == "train"}
    assert {"l1", "consistency", "retinex", "adversarial", "discriminator"} <= names


def test_unlabelled_crops_refuse_images_smaller_than_the_crop():
    spec = tiny_spec("desand")
    with pytest.raises(ValueError, match="at least 64 px"):
        UnlabelledCrops([np.zeros((3, 32, 32), np.uint8)], spec, crop=64, length=4, seed=0)
