"""Clouds: thin (semi-transparent) or thick (opaque cores), each with its shadow.

Cloud cover ``c`` in [0, 1] is a soft threshold of fractal noise (the threshold sets the cloud
fraction). The cloudy image is ``I = J*(1 - a*c) + a*c*B`` with cloud brightness ``B`` and opacity
``a`` (thin: 0.2-0.7, thick: 1, so the ground under a core is lost). The shadow is the cover shifted
along a random sun azimuth, darkening the ground by a factor ``1 - s*shadow`` where no cloud hides
it. Values stay in [0, 1].
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .base import Degradation
from .noise import smooth_noise


@dataclass(frozen=True)
class CloudConfig:
    thick_probability: float = 0.5
    #: Fraction of the crop covered by cloud (before softening).
    cover: tuple[float, float] = (0.05, 0.6)
    thin_opacity: tuple[float, float] = (0.2, 0.7)
    brightness: tuple[float, float] = (0.8, 1.0)
    #: Width of the soft cloud edge, as a fraction of the range between threshold and peak.
    softness: tuple[float, float] = (0.2, 0.6)
    #: Shadow offset in pixels and darkening strength.
    shadow_offset: tuple[float, float] = (5.0, 40.0)
    shadow_strength: tuple[float, float] = (0.3, 0.7)
    noise_scale: tuple[float, float] = (32.0, 192.0)


def cloud_cover(shape: tuple[int, int], rng: np.random.Generator, config: CloudConfig) -> np.ndarray:
    """Soft cloud cover (H, W) in [0, 1] with roughly the drawn cloud fraction."""
    field = smooth_noise(shape, rng, base_scale=rng.uniform(*config.noise_scale), octaves=5)
    threshold = float(np.quantile(field, 1.0 - rng.uniform(*config.cover)))
    soft = rng.uniform(*config.softness) * max(float(field.max()) - threshold, 1e-6)
    return np.clip((field - threshold) / soft, 0.0, 1.0).astype(np.float32)


def synthesize_clouds(
    clean: Mapping[str, np.ndarray], rng: np.random.Generator, config: CloudConfig, bands: tuple[str, ...]
) -> Degradation:
    """Clouds and shadows over ``clean['optical']`` (C, H, W) in [0, 1]."""
    image = clean["optical"]
    _, height, width = image.shape
    cover = cloud_cover((height, width), rng, config)
    thick = rng.random() < config.thick_probability
    opacity = 1.0 if thick else rng.uniform(*config.thin_opacity)
    texture = 0.9 + 0.1 * smooth_noise((height, width), rng, base_scale=16.0)
    brightness = (rng.uniform(*config.brightness) * texture)[None]
    azimuth = rng.uniform(0, 2 * np.pi)
    offset = rng.uniform(*config.shadow_offset)
    shadow = ndimage.shift(
        cover, (offset * np.sin(azimuth), offset * np.cos(azimuth)), order=1, mode="constant"
    )
    shadow = np.clip(shadow * (1.0 - cover), 0.0, 1.0)
    shaded = image * (1.0 - rng.uniform(*config.shadow_strength) * opacity * shadow)[None]
    alpha = (opacity * cover)[None]
    cloudy = shaded * (1.0 - alpha) + alpha * brightness
    return Degradation(
        inputs={"optical": np.clip(cloudy, 0.0, 1.0).astype(np.float32)},
        target=image.astype(np.float32),
        info={"cover": cover, "shadow": shadow.astype(np.float32), "thick": thick, "opacity": opacity},
    )
