"""A sensor's radiometric offset: digital numbers that are not zero where the ground is black.

Landsat-8/9 L1 products encode top-of-atmosphere reflectance as ``DN = (rho + 0.1) / 2e-5``, so
zero reflectance reads 5,000 in every band; Sentinel-2 L1C adds 1,000 since processing baseline
04.00. In a dark scene that floor is half of the brightest values (0.55 of the 99.5th percentile
in ``landsat8_l1_hazy_224078``). Haze raises the floor too, but takes contrast with it; an offset
keeps the contrast. The clean scenes are stretched so that their darkest band reaches zero, so a
network that sees the whole raster's percentiles (a scene context) learns that every floor is haze
unless some training pairs carry an offset in both the degraded input and the clean target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Degradation


@dataclass(frozen=True)
class OffsetConfig:
    #: Share of samples that get an offset.
    probability: float = 0.5
    #: Range of the offset as a share of the unit range: ``x -> o + (1 - o) x`` (same for every band).
    offset: tuple[float, float] = (0.05, 0.6)
    #: Input roles the sensor recorded (a mask input carries no offset).
    roles: tuple[str, ...] = ("optical",)


def add_offset(deg: Degradation, rng: np.random.Generator, config: OffsetConfig) -> Degradation:
    """``o + (1 - o) x`` of the degraded inputs and of the clean target alike: the pair as a
    sensor with that offset records it, still in [0, 1] (NaN stays NaN)."""
    if rng.random() >= config.probability:
        return deg
    o = np.float32(rng.uniform(*config.offset))

    def record(array: np.ndarray) -> np.ndarray:
        return (o + (1 - o) * array).astype(np.float32)

    inputs = {role: record(a) if role in config.roles else a for role, a in deg.inputs.items()}
    return Degradation(inputs=inputs, target=record(deg.target), mask=deg.mask,
                       info={**deg.info, "offset": float(o)})
