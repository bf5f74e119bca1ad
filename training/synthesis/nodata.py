"""Nodata borders: the collar of a satellite scene, cut into a training crop.

Landsat and Sentinel-2 scenes are tilted footprints inside a rectangle of nodata, so every tile
along a scene edge is part ground, part nodata. The engine feeds a model without a mask input the
raster's median there (``backend.normalization.nodata_fill``); a model that never saw such a
straight edge of flat colour learns nothing about it and can let it tint the ground next to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Degradation


@dataclass(frozen=True)
class NodataConfig:
    #: Share of samples that get a nodata region.
    probability: float = 0.25
    #: Range of the share of the crop the region covers.
    area: tuple[float, float] = (0.05, 0.5)


def half_plane(shape: tuple[int, int], rng: np.random.Generator, area: float) -> np.ndarray:
    """A (H, W) boolean half-plane at a random angle covering about ``area`` of the crop."""
    height, width = shape
    angle = rng.uniform(0.0, 2.0 * np.pi)
    yy, xx = np.mgrid[0:height, 0:width]
    distance = np.cos(angle) * (xx - width / 2) + np.sin(angle) * (yy - height / 2)
    return distance > np.quantile(distance, 1.0 - area)


def add_nodata(deg: Degradation, rng: np.random.Generator, config: NodataConfig) -> Degradation:
    """Mark a straight-edged region of every input as missing (NaN), as a scene collar would be.

    The target there becomes what the network is fed there (the degraded optical median), so the
    loss asks for nothing but to leave those pixels alone; the engine masks them in the output.
    """
    if rng.random() >= config.probability:
        return deg
    optical = deg.inputs["optical"]
    region = half_plane(optical.shape[1:], rng, rng.uniform(*config.area))
    fill = np.median(optical[:, ~region], axis=1).astype(optical.dtype)
    target = deg.target.copy()
    target[:, region] = fill[:, None]
    inputs = {}
    for role, array in deg.inputs.items():
        array = array.astype(np.float32, copy=True)
        array[:, region] = np.nan
        inputs[role] = array
    return Degradation(inputs, target, deg.mask, {**deg.info, "nodata_share": float(region.mean())})
