"""Per-band gains: the same scene as products with another balance between their bands record it.

Band ratios are not fixed by the ground: digital numbers have per-band gains (Landsat L1 DNs versus
reflectance), exports are often stretched band by band (8-bit GIS exports; the RS-Haze PNGs, each
band stretched to its own range), and a scene's colour varies. A gain per band applied to the hazy
input and the clean target alike is still the scattering model: ``g I = (g J) t + (g A)(1 - t)``,
with a scene and an airlight of another colour. Without such pairs a network learns the band ratios
of its few training scenes and does worse on products with another balance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Degradation


@dataclass(frozen=True)
class BandGainConfig:
    #: Share of samples that get per-band gains.
    probability: float = 0.5
    #: Largest ratio between the gains of two bands: each gain is drawn log-uniformly in
    #: [1 / ratio, ratio] and all are divided by the largest, so values stay in [0, 1].
    ratio: float = 2.0
    #: Input roles the gains apply to (a mask carries none).
    roles: tuple[str, ...] = ("optical",)


def draw_band_gains(rng: np.random.Generator, bands: int, ratio: float = 2.0) -> np.ndarray:
    """(bands, 1, 1) float32 gains, log-uniform in [1 / ratio, ratio], divided by the largest."""
    gains = np.exp(rng.uniform(-np.log(ratio), np.log(ratio), bands))
    return (gains / gains.max()).astype(np.float32)[:, None, None]


def add_band_gains(deg: Degradation, rng: np.random.Generator, config: BandGainConfig) -> Degradation:
    """``g_b x_b`` of the degraded inputs and of the clean target alike (NaN stays NaN)."""
    if rng.random() >= config.probability:
        return deg
    gains = draw_band_gains(rng, deg.target.shape[0], config.ratio)
    inputs = {role: (a * gains).astype(np.float32) if role in config.roles else a
              for role, a in deg.inputs.items()}  # fmt: skip
    return Degradation(inputs=inputs, target=(deg.target * gains).astype(np.float32), mask=deg.mask,
                       info={**deg.info, "band_gains": gains[:, 0, 0].tolist()})
