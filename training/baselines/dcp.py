"""Dark channel prior dehazing (He, Sun and Tang, CVPR 2009) with a guided-filter refinement.

``dark(I)`` = min over bands and a ``patch`` window; the airlight ``A`` is the colour of the
brightest input pixel among the 0.1 % pixels with the brightest dark channel (as in the paper);
``t = 1 - omega * dark(I / A)``, refined by a guided filter (He et al., ECCV 2010) with the grey
image as guide; ``J = (I - A) / max(t, t0) + A``.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def dark_channel(image: np.ndarray, patch: int = 15) -> np.ndarray:
    """Per-pixel minimum over bands and a ``patch`` x ``patch`` window."""
    return ndimage.minimum_filter(image.min(axis=0), size=patch, mode="nearest")


def estimate_airlight(image: np.ndarray, dark: np.ndarray, top: float = 0.001) -> np.ndarray:
    """Colour (C,) of the brightest pixel among the brightest ``top`` share of the dark channel."""
    count = max(1, int(top * dark.size))
    index = np.argpartition(dark.ravel(), -count)[-count:]
    pixels = image.reshape(image.shape[0], -1)[:, index]
    return pixels[:, int(np.argmax(pixels.sum(axis=0)))]


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Edge-preserving smoothing of ``src`` following the edges of ``guide`` (both (H, W))."""
    size = 2 * radius + 1

    def box(x: np.ndarray) -> np.ndarray:
        return ndimage.uniform_filter(x, size=size, mode="reflect")

    mean_i, mean_p = box(guide), box(src)
    cov_ip = box(guide * src) - mean_i * mean_p
    var_i = box(guide * guide) - mean_i**2
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return box(a) * guide + box(b)


def dark_channel_dehaze(image: np.ndarray, *, patch: int = 15, omega: float = 0.95, t0: float = 0.1,
                        radius: int = 60, eps: float = 1e-4) -> np.ndarray:  # fmt: skip
    """Dehaze ``image`` (C, H, W) in [0, 1]; the guided-filter radius shrinks for small images."""
    image = np.nan_to_num(image.astype(np.float64), nan=0.0)
    dark = dark_channel(image, patch)
    airlight = np.maximum(estimate_airlight(image, dark), 1e-3)[:, None, None]
    transmission = 1.0 - omega * dark_channel(image / airlight, patch)
    radius = max(1, min(radius, min(image.shape[1:]) // 4))
    transmission = guided_filter(image.mean(axis=0), transmission, radius, eps)
    restored = (image - airlight) / np.maximum(transmission, t0)[None] + airlight
    return np.clip(restored, 0.0, 1.0).astype(np.float32)
