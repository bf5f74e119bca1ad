"""Smooth random fields: the spatial pattern behind haze thickness, cloud cover and dust density."""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def smooth_noise(
    shape: tuple[int, int],
    rng: np.random.Generator,
    *,
    base_scale: float = 64.0,
    octaves: int = 4,
    persistence: float = 0.5,
) -> np.ndarray:
    """Fractal value noise in [0, 1], float32, of ``shape``.

    Octave ``k`` is white noise on a grid ``base_scale / 2**k`` pixels apart, upsampled with a cubic
    spline; amplitudes fall by ``persistence`` per octave, so large features dominate like real haze.
    """
    height, width = shape
    field = np.zeros(shape, dtype=np.float64)
    amplitude = 1.0
    for k in range(octaves):
        step = max(base_scale / 2**k, 1.0)
        gh, gw = int(np.ceil(height / step)) + 2, int(np.ceil(width / step)) + 2
        grid = rng.standard_normal((gh, gw))
        up = ndimage.zoom(grid, (height / (gh - 2), width / (gw - 2)), order=3, mode="mirror")
        field += amplitude * up[:height, :width]
        amplitude *= persistence
    lo, hi = field.min(), field.max()
    return ((field - lo) / max(hi - lo, 1e-12)).astype(np.float32)


def random_transform(patch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One of the 8 flips/rotations of a 2-D ``patch``: reuses a real pattern without repeating it."""
    patch = np.rot90(patch, k=int(rng.integers(4)))
    if rng.random() < 0.5:
        patch = patch[:, ::-1]
    return np.ascontiguousarray(patch)


def fit_pattern(pattern: np.ndarray, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A random window of a 2-D ``pattern`` resampled to ``shape`` (zooms in or out as needed)."""
    pattern = random_transform(pattern, rng)
    ph, pw = pattern.shape
    # Take a window between half and all of the pattern, keeping the target aspect ratio.
    frac = rng.uniform(0.5, 1.0)
    wh = max(8, int(min(ph, pw * shape[0] / shape[1]) * frac))
    ww = max(8, int(wh * shape[1] / shape[0]))
    wh, ww = min(wh, ph), min(ww, pw)
    y0 = int(rng.integers(0, ph - wh + 1))
    x0 = int(rng.integers(0, pw - ww + 1))
    window = pattern[y0 : y0 + wh, x0 : x0 + ww]
    out = ndimage.zoom(window, (shape[0] / wh, shape[1] / ww), order=1)
    out = out[: shape[0], : shape[1]]
    if out.shape != shape:  # zoom rounding can leave a pixel short
        out = np.pad(out, [(0, shape[0] - out.shape[0]), (0, shape[1] - out.shape[1])], mode="edge")
    return out.astype(np.float32)
