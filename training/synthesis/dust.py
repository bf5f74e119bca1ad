"""Sand-dust: the scattering model with a colour-cast airlight and distance-dependent transmission.

``I = J*t + A*(1 - t)`` with ``t_b = exp(-beta * d * (0.55 / lambda_b) ** alpha)``. Dust is made of
large grains (small Angstrom exponent) that absorb blue, so the airlight ``A`` is orange-yellow
(per band, as in the SSDIE-Net synthesis: red 0.7-1, green 0.3-0.5 (+ up to 0.25), blue 0-0.1
(+ up to 0.3)), or with some probability a grey-yellow veil. The path length ``d`` grows across
the image (an oblique view or a dust front) and varies with a smooth dust density.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .base import Degradation, wavelengths
from .noise import smooth_noise


@dataclass(frozen=True)
class DustConfig:
    #: Extinction coefficient (SSDIE-Net draws e in 0.4..1.0 for d in 1..2).
    beta: tuple[float, float] = (0.4, 1.0)
    #: How much of the path length is a linear ramp across the image (0 = density noise only).
    ramp_share: tuple[float, float] = (0.0, 0.8)
    angstrom: tuple[float, float] = (0.0, 0.5)
    airlight_red: tuple[float, float] = (0.7, 1.0)
    airlight_green: tuple[float, float] = (0.3, 0.75)
    airlight_blue: tuple[float, float] = (0.0, 0.4)
    #: Probability of a grey-yellow airlight (all bands in ``grey_airlight``) instead.
    grey_probability: float = 0.3
    grey_airlight: tuple[float, float] = (0.7, 0.8)
    noise_scale: tuple[float, float] = (48.0, 256.0)


def dust_airlight(bands: tuple[str, ...], rng: np.random.Generator, config: DustConfig) -> np.ndarray:
    """Per-band airlight (C,) for ``bands``: bands other than RGB take the red value."""
    if rng.random() < config.grey_probability:
        return np.full(len(bands), rng.uniform(*config.grey_airlight), dtype=np.float32)
    red = rng.uniform(*config.airlight_red)
    values = {
        "red": red,
        "green": rng.uniform(*config.airlight_green),
        "blue": rng.uniform(*config.airlight_blue),
    }
    return np.array([values.get(b, red) for b in bands], dtype=np.float32)


def synthesize_dust(
    clean: Mapping[str, np.ndarray], rng: np.random.Generator, config: DustConfig, bands: tuple[str, ...]
) -> Degradation:
    """Sand-dust over ``clean['optical']`` (C, H, W) in [0, 1]; stays in [0, 1]."""
    image = clean["optical"]
    _, height, width = image.shape
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = np.cos(angle) * xx / max(width - 1, 1) + np.sin(angle) * yy / max(height - 1, 1)
    ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)
    share = rng.uniform(*config.ramp_share)
    density = smooth_noise((height, width), rng, base_scale=rng.uniform(*config.noise_scale))
    distance = 1.0 + share * ramp + (1.0 - share) * density  # d in [1, 2], as d + 1 in SSDIE-Net
    beta = rng.uniform(*config.beta)
    alpha = rng.uniform(*config.angstrom)
    t = np.exp(-beta * distance[None] * (0.55 / wavelengths(bands)) ** alpha).astype(np.float32)
    airlight = dust_airlight(bands, rng, config)[:, None, None]
    dusty = image * t + airlight * (1.0 - t)
    return Degradation(
        inputs={"optical": np.clip(dusty, 0.0, 1.0).astype(np.float32)},
        target=image.astype(np.float32),
        info={"transmission": t, "airlight": airlight[:, 0, 0]},
    )
