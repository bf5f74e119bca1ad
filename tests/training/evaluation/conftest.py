"""A tiny exported dehaze model and a check context over tiny hazed regions (no shared data)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from training.archs import build_arch
from training.checkpoint import save_checkpoint
from training.evaluation import CheckContext, EngineModel
from training.export import export_checkpoint
from training.model import RestorationModel
from training.synthesis import SYNTHESES

from ..helpers import tiny_scene, tiny_spec

RGB = ("red", "green", "blue")


def export_tiny(folder: Path, bands: tuple[str, ...] = RGB) -> Path:
    """An untrained 2-layer dehaze package of ``bands`` with the dehaze spec's card."""
    spec = tiny_spec("dehaze")
    inputs = (dataclasses.replace(spec.inputs[0], bands=bands),)
    spec = dataclasses.replace(spec, inputs=inputs, output_bands=bands)
    torch.manual_seed(0)
    net, cfg = build_arch("tiny", "lite", in_channels=spec.in_channels, out_channels=spec.out_channels)
    ckpt = folder / f"dehaze{len(bands)}.pt"
    model = RestorationModel(net, spec)
    save_checkpoint(ckpt, spec=spec, train_config=spec.lite, arch_config=cfg, model=model, step=1,
                    best_psnr=float("nan"))  # fmt: skip
    return export_checkpoint(ckpt, folder / f"dehaze{len(bands)}_tiny.onnx").path


@pytest.fixture(scope="module")
def tiny_dehaze(tmp_path_factory) -> Path:
    return export_tiny(tmp_path_factory.mktemp("tiny"))


def tiny_regions(count: int = 2, size: int = 48, bands: tuple[str, ...] = RGB) -> tuple:
    """``count`` tiny scenes hazed by the training synthesis (a NIR band: the red one, darker)."""
    entry = SYNTHESES["haze"]
    regions = []
    for i in range(count):
        image = tiny_scene(f"s{i}", size=size, seed=i).image
        clean = np.stack([image[RGB.index(b)] if b in RGB else 0.8 * image[0] for b in bands])
        deg = entry.synth({"optical": clean}, np.random.default_rng(i), entry.config_cls(), bands)
        regions.append((f"region{i}", deg))
    return tuple(regions)


@pytest.fixture
def context(tiny_dehaze, tmp_path) -> CheckContext:
    model = EngineModel("dehaze", tiny_dehaze)
    return CheckContext("dehaze", model, tiny_regions(), tmp_path / "no-data", tmp_path)
