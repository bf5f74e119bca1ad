"""Clouds: thick cumulus fields with displaced shadows, thin cirrus veils, or a clear sky.

Each draw is one of three skies:

* **thick** (cumulus): cover ``c`` in [0, 1] is a soft threshold of fractal noise at cumulus scale
  (the threshold sets the cloud fraction); the cores are opaque (``a = 1``), so the ground under
  them is lost. Each cloud casts a shadow: the cover shifted along a random sun azimuth, darkening
  the ground by ``1 - s * shadow`` where no cloud hides it.
* **thin** (cirrus or thin stratus): a semi-transparent veil (opacity 0.15-0.6) whose cover is
  fractal noise stretched along a random wind direction (the fibrous look of cirrus), with a faint
  shadow.
* **clear**: the clean image unchanged, so a model learns to leave cloud-free ground alone.

The cloudy image is ``I_b = J_b * (1 - a c t_b) + a c R_b`` per band ``b``, with the cloud's
reflectance ``R_b`` (a brightness drawn per cloud, times a relative per-band factor) and its
per-band extinction ``t_b``. Water clouds are bright and nearly neutral from blue to SWIR (as the
real Landsat-8 scene's cumulus are) and dim in the water-vapour and cirrus bands, where the air
above them absorbs; ice clouds (cirrus) are darker in SWIR (ice absorbs there) and the brightest in
the 1.375 um cirrus band. Values stay in [0, 1].
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .base import Degradation
from .noise import smooth_noise

#: Cloud reflectance of each band relative to the visible bands, (water cloud, ice cloud). The water
#: clouds' SWIR and cirrus-band values are calibrated on the real Landsat-8 scene's high-confidence
#: BQA clouds (``python -m training realism --kind clouds``): at 30 m its cumulus brighten SWIR about
#: as much as blue, and the 1.375 um band about a third as much.
CLOUD_REFLECTANCE: dict[str, tuple[float, float]] = {
    "coastal": (1.0, 1.0), "blue": (1.0, 1.0), "green": (1.0, 1.0), "red": (1.0, 1.0),
    "pan": (1.0, 1.0), "gray": (1.0, 1.0), "rededge1": (1.0, 1.0), "rededge2": (1.0, 0.98),
    "rededge3": (1.0, 0.97), "nir": (1.0, 0.95), "nir08": (1.0, 0.95),
    "watervapour": (0.3, 0.4), "cirrus": (0.35, 0.75), "swir1": (0.9, 0.45), "swir2": (0.95, 0.3),
}  # fmt: skip

#: Relative extinction (how much of the ground each band loses under the same cloud): near neutral;
#: the absorbing bands see the ground through thin cloud a little better.
CLOUD_EXTINCTION: dict[str, float] = {"watervapour": 0.6, "cirrus": 0.5, "swir1": 0.85, "swir2": 0.75}


@dataclass(frozen=True)
class CloudConfig:
    thick_probability: float = 0.5
    #: Share of draws with no cloud at all (the rest split between thick and thin).
    clear_probability: float = 0.1
    #: Fraction of the crop covered by cloud (before softening).
    cover: tuple[float, float] = (0.05, 0.6)
    thin_opacity: tuple[float, float] = (0.15, 0.6)
    brightness: tuple[float, float] = (0.8, 1.0)
    #: Width of the soft cloud edge, as a fraction of the range between threshold and peak.
    softness: tuple[float, float] = (0.2, 0.6)
    #: Shadow offset in pixels and darkening strength.
    shadow_offset: tuple[float, float] = (5.0, 40.0)
    shadow_strength: tuple[float, float] = (0.3, 0.7)
    #: Feature size of cumulus fields and of cirrus veils, in pixels.
    noise_scale: tuple[float, float] = (24.0, 128.0)
    cirrus_scale: tuple[float, float] = (64.0, 256.0)
    #: How much longer cirrus fibres are than wide.
    cirrus_elongation: tuple[float, float] = (3.0, 8.0)


def cloud_cover(shape: tuple[int, int], rng: np.random.Generator, config: CloudConfig) -> np.ndarray:
    """Soft cumulus cover (H, W) in [0, 1] with roughly the drawn cloud fraction."""
    field = smooth_noise(shape, rng, base_scale=rng.uniform(*config.noise_scale), octaves=5)
    return _soft_threshold(field, rng, config)


def cirrus_cover(shape: tuple[int, int], rng: np.random.Generator, config: CloudConfig) -> np.ndarray:
    """Soft cirrus cover (H, W) in [0, 1]: noise stretched along a random wind direction."""
    stretch = rng.uniform(*config.cirrus_elongation)
    side = int(np.ceil(np.hypot(*shape))) + 2
    field = smooth_noise((side, max(8, int(side / stretch))), rng,
                         base_scale=rng.uniform(*config.cirrus_scale) / stretch, octaves=4)
    field = ndimage.zoom(field, (1.0, side / field.shape[1]), order=1)[:, :side]
    field = ndimage.rotate(field, rng.uniform(0.0, 180.0), reshape=False, order=1, mode="reflect")
    y0, x0 = (side - shape[0]) // 2, (side - shape[1]) // 2
    field = field[y0 : y0 + shape[0], x0 : x0 + shape[1]]
    field = 0.7 * field + 0.3 * smooth_noise(shape, rng, base_scale=32.0, octaves=3)
    return _soft_threshold(field, rng, config)


def _soft_threshold(field: np.ndarray, rng: np.random.Generator, config: CloudConfig) -> np.ndarray:
    threshold = float(np.quantile(field, 1.0 - rng.uniform(*config.cover)))
    soft = rng.uniform(*config.softness) * max(float(field.max()) - threshold, 1e-6)
    return np.clip((field - threshold) / soft, 0.0, 1.0).astype(np.float32)


def band_factors(bands: tuple[str, ...], ice: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-band cloud reflectance and extinction factors, each (C, 1, 1)."""
    reflect = np.array([CLOUD_REFLECTANCE.get(b, (1.0, 1.0))[int(ice)] for b in bands], np.float32)
    extinct = np.array([CLOUD_EXTINCTION.get(b, 1.0) for b in bands], np.float32)
    return reflect[:, None, None], extinct[:, None, None]


def synthesize_clouds(
    clean: Mapping[str, np.ndarray], rng: np.random.Generator, config: CloudConfig, bands: tuple[str, ...]
) -> Degradation:
    """Clouds and shadows over ``clean['optical']`` (C, H, W) in [0, 1]."""
    image = clean["optical"].astype(np.float32)
    _, height, width = image.shape
    draw = rng.random()
    if draw < config.clear_probability:
        zeros = np.zeros((height, width), np.float32)
        return Degradation(inputs={"optical": image.copy()}, target=image,
                           info={"cover": zeros, "shadow": zeros, "kind": "clear", "thick": False,
                                 "opacity": 0.0, "transmission": np.ones_like(image)})  # fmt: skip
    thick = draw < config.clear_probability + (1.0 - config.clear_probability) * config.thick_probability
    if thick:
        cover, opacity = cloud_cover((height, width), rng, config), 1.0
    else:
        cover, opacity = cirrus_cover((height, width), rng, config), rng.uniform(*config.thin_opacity)
    reflect, extinct = band_factors(bands, ice=not thick)
    texture = 0.9 + 0.1 * smooth_noise((height, width), rng, base_scale=16.0)
    brightness = rng.uniform(*config.brightness) * texture[None] * reflect
    azimuth = rng.uniform(0, 2 * np.pi)
    offset = rng.uniform(*config.shadow_offset)
    shadow = ndimage.shift(
        cover, (offset * np.sin(azimuth), offset * np.cos(azimuth)), order=1, mode="constant"
    )
    shadow = np.clip(shadow * (1.0 - cover), 0.0, 1.0)
    shaded = image * (1.0 - rng.uniform(*config.shadow_strength) * opacity * shadow)[None]
    alpha = (opacity * cover)[None]
    cloudy = shaded * (1.0 - alpha * extinct) + alpha * brightness
    return Degradation(
        inputs={"optical": np.clip(cloudy, 0.0, 1.0).astype(np.float32)},
        target=image,
        info={"cover": cover, "shadow": shadow.astype(np.float32), "kind": "thick" if thick else "thin",
              "thick": thick, "opacity": opacity,
              # How much of the ground each band still sees (shadows aside): (C, H, W).
              "transmission": (1.0 - alpha * extinct).astype(np.float32)},
    )
