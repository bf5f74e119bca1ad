"""Haze by the atmospheric scattering model ``I = J*t + A*(1 - t)``.

Transmission ``t_b = exp(-tau * (0.55 / lambda_b) ** alpha)`` varies in space (thickness from smooth
fractal noise or from real Landsat-8 cirrus-band patterns) and with wavelength (Angstrom exponent
``alpha``: blue scatters more than red); the airlight ``A`` is a bright, slightly tinted grey, or,
with ``airlight_angstrom``, a bluish one (path radiance ``~ lambda ** -beta``, as in real scenes).
With ``J`` and ``A`` in [0, 1] the hazy image is a convex blend, so it stays in [0, 1].
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..readers import read_raster
from .base import Degradation, wavelengths
from .noise import fit_pattern, smooth_noise

#: Real cirrus-band haze patterns under the shared data root (RS-Haze's Landsat-8 band 9 images).
CIRRUS_DIR = "remote_sensing/rs_haze_sample/data/cirrus"


@dataclass(frozen=True)
class HazeConfig:
    """Ranges the haze parameters are drawn from (uniformly) for each sample."""

    #: Peak optical depth at 0.55 µm; t = exp(-tau) so 0.1..1.0 spans t ≈ 0.9..0.37.
    tau: tuple[float, float] = (0.1, 1.0)
    #: Share of the optical depth that is uniform over the crop (the rest follows the pattern).
    uniform_share: tuple[float, float] = (0.1, 0.7)
    #: Angstrom exponent: 0 = grey haze, ~1.3 = continental aerosol.
    angstrom: tuple[float, float] = (0.3, 1.5)
    #: Airlight brightness and per-band tint (relative).
    airlight: tuple[float, float] = (0.7, 1.0)
    airlight_tint: float = 0.05
    #: Wavelength dependence of the airlight, ``A_b ~ (0.55 / lambda_b) ** beta`` scaled so that the
    #: brightest band keeps the drawn brightness: 0 = grey, ~1 = the bluish path radiance of hazy
    #: Landsat and aerial scenes, 4 = pure Rayleigh. (0, 0) draws nothing (older recipes unchanged).
    airlight_angstrom: tuple[float, float] = (0.0, 0.0)
    #: Probability of taking the thickness from a real cirrus pattern instead of noise.
    cirrus_probability: float = 0.5
    #: Folder of ``*_B9.tif(f)`` cirrus patterns (``CIRRUS_DIR`` under the data root); None = noise only.
    cirrus_dir: str | None = None
    noise_scale: tuple[float, float] = (32.0, 256.0)


@functools.lru_cache(maxsize=4)
def read_cirrus_bands(folder: str) -> tuple[np.ndarray, ...]:
    """Every cirrus-band image (``*B9.tif(f)``) under ``folder``, as read, in file-name order."""
    paths = sorted(p for p in Path(folder).rglob("*B9.tif*") if p.suffix.lower() in (".tif", ".tiff"))
    return tuple(read_raster(path)[0] for path in paths)


@functools.lru_cache(maxsize=4)
def load_cirrus_patterns(folder: str) -> tuple[np.ndarray, ...]:
    """Every cirrus-band image under ``folder`` as a thickness map in [0, 1] (1st-99th percentile)."""
    patterns = []
    for band in read_cirrus_bands(folder):
        lo, hi = np.nanpercentile(band, [1, 99])
        patterns.append(np.clip((band - lo) / max(hi - lo, 1e-6), 0, 1).astype(np.float32))
    return tuple(patterns)


def thickness_map(shape: tuple[int, int], rng: np.random.Generator, config: HazeConfig) -> np.ndarray:
    """A (H, W) haze thickness in [0, 1]: a real cirrus pattern or fractal noise."""
    patterns = load_cirrus_patterns(config.cirrus_dir) if config.cirrus_dir else ()
    if patterns and rng.random() < config.cirrus_probability:
        return fit_pattern(patterns[int(rng.integers(len(patterns)))], shape, rng)
    return smooth_noise(shape, rng, base_scale=rng.uniform(*config.noise_scale))


def synthesize_haze(
    clean: Mapping[str, np.ndarray],
    rng: np.random.Generator,
    config: HazeConfig,
    bands: tuple[str, ...],
) -> Degradation:
    """Haze over ``clean['optical']`` (C, H, W) in [0, 1]; returns the hazy image and ``t``."""
    image = clean["optical"]
    _, height, width = image.shape
    thickness = thickness_map((height, width), rng, config)
    share = rng.uniform(*config.uniform_share)
    tau = rng.uniform(*config.tau) * (share + (1.0 - share) * thickness)
    alpha = rng.uniform(*config.angstrom)
    tau_b = tau[None] * (0.55 / wavelengths(bands)) ** alpha
    t = np.exp(-tau_b).astype(np.float32)
    grey = rng.uniform(*config.airlight)
    tint = 1.0 + rng.uniform(-config.airlight_tint, config.airlight_tint, size=(len(bands), 1, 1))
    if any(config.airlight_angstrom):  # drawn last, so grey recipes keep their random stream
        spectrum = (0.55 / wavelengths(bands)) ** rng.uniform(*config.airlight_angstrom)
        tint = tint * spectrum / spectrum.max()
    airlight = np.clip(grey * tint, 0.0, 1.0).astype(np.float32)
    hazy = image * t + airlight * (1.0 - t)
    return Degradation(
        inputs={"optical": np.clip(hazy, 0.0, 1.0).astype(np.float32)},
        target=image.astype(np.float32),
        info={"transmission": t, "airlight": airlight[:, 0, 0], "angstrom": alpha},
    )
