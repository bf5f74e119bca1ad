"""Haze by the RS-Haze recipe (Song et al. 2023, the benchmark's ``synthesis.py``), re-implemented.

The RS-Haze benchmark pairs were made differently from ``haze.py`` in three ways a network trained
only on ``haze.py`` never sees (measured on the shipped sample, tile 00215, where ``I = J t +
A (1 - t)`` with its own transmission maps gives back one airlight per band to 4 decimals):

- **a bright airlight**: cloud-top reflectance (0.57, 0.61, 0.64 for blue, green, red), 1.96-2.28
  times each band's 99.5th percentile, where ``haze.py`` draws 0.7-1.0 times the scene's; its
  colour follows the mean Landsat-8 airlight over 77 scenes (warm: red above blue);
- **the thickness**: the coastal band's transmission ``t1 = 1 - w * pattern``, ``w`` log-uniform
  in [0.05, 1), the cirrus-band pattern divided by its maximum (``max``) or stretched min-max;
- **a wavelength dependence that follows the thickness**: ``t_b = t1 ** ((0.443 / lambda_b) **
  gamma)`` with ``gamma`` a cubic in ``1 - t1`` clipped to [0, 4]: thin haze is strongly
  selective (blue far hazier than red), thick haze nearly grey.

Here the airlight's level is drawn relative to the clean scene's unit domain (its 0.5-99.5 %
stretch), so the hazy image may exceed 1; the pair is then divided by the hazy image's maximum (when
above 1), as the benchmark stores everything in [0, 1] at one scale. A zero-anchored gain is what the
engine's ``scale`` normalisation undoes, so the network sees the same pair either way.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .base import Degradation, wavelengths
from .haze import read_cirrus_bands
from .noise import fit_pattern, smooth_noise

#: The coastal band's wavelength (µm): the recipe's reference, whose transmission is ``t1``.
COASTAL_UM = 0.443
#: Mean airlight of 77 Landsat-8 scenes per band (the recipe's ``A_av``), by wavelength (µm).
LANDSAT8_AIRLIGHT = {0.443: 0.4676, 0.4825: 0.4556, 0.5625: 0.4893, 0.655: 0.5147, 0.865: 0.6082,
                     1.61: 0.5750, 2.2: 0.5435}  # fmt: skip
#: ``gamma(x) = a3 x^3 + a2 x^2 + a1 x + a0`` with ``x = 1 - t1`` (the recipe's ``gamma``, mode 1).
GAMMA_CUBIC = (-21.547, 41.224, -27.465, 6.537)


@dataclass(frozen=True)
class RSHazeConfig:
    """Ranges the recipe's parameters are drawn from for each sample."""

    #: Haze weight ``w`` of ``t1 = 1 - w * pattern``, drawn log-uniformly (the recipe's mode 1).
    weight: tuple[float, float] = (0.05, 1.0)
    #: Probability of the min-max normalised pattern (else divided by its maximum).
    minmax_probability: float = 0.5
    #: The green airlight in units of the clean scene's 99.5th percentile (tile 00215: 2.2); the
    #: other bands follow the Landsat-8 ratio.
    airlight: tuple[float, float] = (1.0, 3.0)
    #: Relative per-band jitter of the airlight's colour.
    airlight_tint: float = 0.05
    #: Folder of ``*_B9.tif(f)`` cirrus patterns; None (or empty) = fractal noise.
    cirrus_dir: str | None = None
    noise_scale: tuple[float, float] = (32.0, 256.0)


@functools.lru_cache(maxsize=4)
def _raw_patterns(folder: str) -> tuple[np.ndarray, ...]:
    """The cirrus-band images under ``folder`` as they are (the recipe normalises them itself)."""
    return tuple(np.nan_to_num(band.astype(np.float32)) for band in read_cirrus_bands(folder))


def haze_pattern(shape: tuple[int, int], rng: np.random.Generator, config: RSHazeConfig) -> np.ndarray:
    """A (H, W) pattern in [0, 1]: a whole cirrus image normalised by its max or min-max (as the
    recipe does, before the window is cut), or fractal noise where no pattern is at hand."""
    patterns = _raw_patterns(config.cirrus_dir) if config.cirrus_dir else ()
    if not patterns:
        return smooth_noise(shape, rng, base_scale=rng.uniform(*config.noise_scale))
    pattern = patterns[int(rng.integers(len(patterns)))]
    lo = float(pattern.min()) if rng.random() < config.minmax_probability else 0.0
    pattern = (pattern - lo) / max(float(pattern.max()) - lo, 1e-6)
    return np.clip(fit_pattern(pattern, shape, rng), 0.0, 1.0)


def band_transmission(t1: np.ndarray, bands: tuple[str, ...]) -> np.ndarray:
    """(C, H, W) transmission of ``bands`` from the coastal band's ``t1`` (H, W)."""
    x = 1.0 - t1
    a3, a2, a1, a0 = GAMMA_CUBIC
    gamma = np.clip(((a3 * x + a2) * x + a1) * x + a0, 0.0, 4.0)
    return (t1[None] ** ((COASTAL_UM / wavelengths(bands)) ** gamma[None])).astype(np.float32)


def airlight_ratio(bands: tuple[str, ...]) -> np.ndarray:
    """(C, 1, 1) Landsat-8 mean airlight of each band (nearest tabulated wavelength), over green's."""
    table = np.array(sorted(LANDSAT8_AIRLIGHT))

    def at(um: float) -> float:
        return LANDSAT8_AIRLIGHT[float(table[np.abs(table - um).argmin()])]

    values = np.array([at(float(um)) for um in wavelengths(bands)[:, 0, 0]], dtype=np.float32)
    return (values / at(0.56))[:, None, None]


def synthesize_rs_haze(
    clean: Mapping[str, np.ndarray],
    rng: np.random.Generator,
    config: RSHazeConfig,
    bands: tuple[str, ...],
) -> Degradation:
    """RS-Haze-style haze over ``clean['optical']`` (C, H, W) in [0, 1]."""
    image = clean["optical"]
    _, height, width = image.shape
    pattern = haze_pattern((height, width), rng, config)
    lo, hi = np.log(config.weight)
    weight = float(np.exp(rng.uniform(lo, hi)))
    t1 = np.clip(1.0 - weight * pattern, 1e-3, 1.0)
    t = band_transmission(t1, bands)
    tint = 1.0 + rng.uniform(-config.airlight_tint, config.airlight_tint, size=(len(bands), 1, 1))
    airlight = (rng.uniform(*config.airlight) * airlight_ratio(bands) * tint).astype(np.float32)
    hazy = image * t + airlight * (1.0 - t)  # a convex blend: between the scene and the airlight
    unit = max(1.0, float(hazy.max()))  # one gain for the pair, as the benchmark's 16-bit files have
    return Degradation(
        inputs={"optical": (hazy / unit).astype(np.float32)},
        target=(image / unit).astype(np.float32),
        info={"transmission": t, "airlight": airlight[:, 0, 0] / unit, "weight": weight, "unit": unit},
    )
