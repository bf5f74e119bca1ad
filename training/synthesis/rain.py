"""Rain at night on visible images: streaks of varied angle and density, darkening, sensor noise.

Streaks are sparse random drops smeared by a line kernel (length and angle drawn per sample, a
few layers of different density), screen-blended onto the scene. The night is a gain and gamma that
darken the scene, then Poisson-Gaussian sensor noise and 8-bit quantisation. The infrared image
passes through unchanged: thermal cameras see through rain and darkness, which is why the task
fuses them. Everything stays in [0, 1].
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .base import Degradation


@dataclass(frozen=True)
class NightRainConfig:
    #: Probability of adding synthetic streaks (lower when the input already has real rain).
    streak_probability: float = 1.0
    layers: tuple[int, int] = (1, 3)
    #: Fraction of pixels that seed a drop, per layer.
    density: tuple[float, float] = (0.002, 0.02)
    length: tuple[float, float] = (8.0, 40.0)
    #: Degrees from vertical.
    angle: tuple[float, float] = (-30.0, 30.0)
    intensity: tuple[float, float] = (0.3, 0.9)
    #: Night: multiply by ``gain`` after raising to ``gamma``.
    gain: tuple[float, float] = (0.08, 0.4)
    gamma: tuple[float, float] = (1.0, 2.0)
    #: Shot noise (scales with sqrt of the signal) and read noise, in unit-domain std.
    shot_noise: tuple[float, float] = (0.0, 0.03)
    read_noise: tuple[float, float] = (0.002, 0.02)
    quantize: bool = True


def line_kernel(length: float, angle_deg: float) -> np.ndarray:
    """A normalised line of ``length`` pixels at ``angle_deg`` from vertical (motion blur)."""
    size = int(np.ceil(length)) | 1
    kernel = np.zeros((size, size), dtype=np.float32)
    c = size // 2
    theta = np.deg2rad(angle_deg)
    for s in np.linspace(-length / 2, length / 2, 2 * size):
        y, x = int(round(c + s * np.cos(theta))), int(round(c + s * np.sin(theta)))
        if 0 <= y < size and 0 <= x < size:
            kernel[y, x] = 1.0
    return kernel / kernel.sum()


def rain_streaks(shape: tuple[int, int], rng: np.random.Generator, config: NightRainConfig) -> np.ndarray:
    """A (H, W) streak layer in [0, 1]."""
    streaks = np.zeros(shape, dtype=np.float32)
    angle = rng.uniform(*config.angle)  # one wind direction for all layers, slight spread
    for _ in range(int(rng.integers(config.layers[0], config.layers[1] + 1))):
        seeds = (rng.random(shape) < rng.uniform(*config.density)).astype(np.float32)
        seeds *= rng.uniform(0.5, 1.0, size=shape).astype(np.float32)
        kernel = line_kernel(rng.uniform(*config.length), angle + rng.uniform(-5, 5))
        layer = ndimage.convolve(seeds, kernel, mode="wrap")
        layer /= max(float(layer.max()), 1e-6)
        streaks = np.maximum(streaks, layer * rng.uniform(*config.intensity))
    return np.clip(streaks, 0.0, 1.0)


def synthesize_night_rain(
    clean: Mapping[str, np.ndarray], rng: np.random.Generator, config: NightRainConfig, bands: tuple[str, ...]
) -> Degradation:
    """Rainy night version of ``clean['optical']``; ``clean['infrared']`` (if any) is kept as is.

    The target is the clean scene at the same night exposure (gain and gamma, no rain, no noise):
    the task removes rain and noise, it does not turn night into day. For real pairs whose optical
    input is already rainy, ``clean['target']`` is the real clean image the target is made from.
    """
    image = clean["optical"]
    base = clean.get("target", image)
    _, height, width = image.shape
    rainy = image
    streaks = np.zeros((height, width), dtype=np.float32)
    if rng.random() < config.streak_probability:
        streaks = rain_streaks((height, width), rng, config)
        rainy = 1.0 - (1.0 - image) * (1.0 - streaks[None])  # screen blend: streaks only brighten
    gain, gamma = rng.uniform(*config.gain), rng.uniform(*config.gamma)
    dark = gain * np.power(np.clip(rainy, 0, 1), gamma)
    shot, read = rng.uniform(*config.shot_noise), rng.uniform(*config.read_noise)
    sigma = np.sqrt(shot**2 * dark + read**2)
    noisy = np.clip(dark + sigma * rng.standard_normal(dark.shape), 0.0, 1.0)
    if config.quantize:
        noisy = np.round(noisy * 255.0) / 255.0
    inputs = {"optical": noisy.astype(np.float32)}
    if "infrared" in clean:
        inputs["infrared"] = clean["infrared"].astype(np.float32)
    target = (gain * np.power(np.clip(base, 0, 1), gamma)).astype(np.float32)
    return Degradation(inputs=inputs, target=target, info={"streaks": streaks, "gain": gain, "gamma": gamma})


def synthesize_night_scene(
    clean: Mapping[str, np.ndarray], rng: np.random.Generator, config: NightRainConfig, bands: tuple[str, ...]
) -> Degradation:
    """The fusion stage's pair: the clean scene at a night exposure (the night of
    :func:`synthesize_night_rain`: gain and gamma, no rain, no noise; what a perfect de-rainer gives)
    as the optical input and the target, ``clean['infrared']`` as is.

    The fusion stage has no ground truth (its losses compare the output with both inputs); the target
    is the night visible image, so validation PSNR measures how much of the visible image survives.
    """
    base = clean.get("target", clean["optical"])
    gain, gamma = rng.uniform(*config.gain), rng.uniform(*config.gamma)
    dark = (gain * np.power(np.clip(base, 0, 1), gamma)).astype(np.float32)
    if config.quantize:
        dark = (np.round(dark * 255.0) / 255.0).astype(np.float32)
    inputs = {"optical": dark}
    if "infrared" in clean:
        inputs["infrared"] = clean["infrared"].astype(np.float32)
    return Degradation(inputs=inputs, target=dark.copy(), info={"gain": gain, "gamma": gamma})
