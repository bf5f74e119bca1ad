"""Gray-world colour correction followed by CLAHE on luminance: the classical sand-dust fix.

Gray-world scales each band so its mean equals the mean over bands (removing the yellow cast);
CLAHE (Zuiderveld, Graphics Gems IV, 1994) equalises contrast in an ``tiles`` x ``tiles`` grid of
tiles with a clipped histogram, interpolating the tile mappings bilinearly; it is applied to the
luminance and carried to the bands by the ratio of new to old luminance.
"""

from __future__ import annotations

import numpy as np


def gray_world(image: np.ndarray) -> np.ndarray:
    """Scale each band (C, H, W) to the common mean; clipped to [0, 1]."""
    means = image.reshape(image.shape[0], -1).mean(axis=1)
    gains = means.mean() / np.maximum(means, 1e-6)
    return np.clip(image * gains[:, None, None], 0.0, 1.0)


def _tile_mapping(tile: np.ndarray, bins: int, clip_limit: float) -> np.ndarray:
    hist = np.bincount(tile.ravel(), minlength=bins).astype(np.float64)
    limit = max(1.0, clip_limit * tile.size / bins)
    excess = np.maximum(hist - limit, 0).sum()
    hist = np.minimum(hist, limit) + excess / bins
    cdf = np.cumsum(hist)
    return (cdf - cdf[0]) / max(cdf[-1] - cdf[0], 1e-12)


def clahe(gray: np.ndarray, *, tiles: int = 8, clip_limit: float = 2.0, bins: int = 256) -> np.ndarray:
    """CLAHE of a (H, W) image in [0, 1]."""
    height, width = gray.shape
    q = np.clip((gray * (bins - 1)).round().astype(np.int64), 0, bins - 1)
    ty, tx = min(tiles, height), min(tiles, width)
    ys = np.linspace(0, height, ty + 1).astype(int)
    xs = np.linspace(0, width, tx + 1).astype(int)
    maps = np.array([[_tile_mapping(q[ys[i] : ys[i + 1], xs[j] : xs[j + 1]], bins, clip_limit)
                      for j in range(tx)] for i in range(ty)])  # fmt: skip
    # Bilinear interpolation between the mappings of the four nearest tile centres.
    cy = (ys[:-1] + ys[1:]) / 2.0
    cx = (xs[:-1] + xs[1:]) / 2.0
    fy = np.clip(np.interp(np.arange(height), cy, np.arange(ty)), 0, ty - 1)
    fx = np.clip(np.interp(np.arange(width), cx, np.arange(tx)), 0, tx - 1)
    y0 = np.floor(fy).astype(int)
    x0 = np.floor(fx).astype(int)
    y1, x1 = np.minimum(y0 + 1, ty - 1), np.minimum(x0 + 1, tx - 1)
    wy, wx = (fy - y0)[:, None], (fx - x0)[None, :]
    Y0, X0, Y1, X1 = y0[:, None], x0[None, :], y1[:, None], x1[None, :]  # noqa: N806
    top = maps[Y0, X0, q] * (1 - wx) + maps[Y0, X1, q] * wx
    bottom = maps[Y1, X0, q] * (1 - wx) + maps[Y1, X1, q] * wx
    return (top * (1 - wy) + bottom * wy).astype(np.float32)


def grayworld_clahe(image: np.ndarray, *, tiles: int = 8, clip_limit: float = 2.0) -> np.ndarray:
    """Gray-world then luminance CLAHE of ``image`` (C, H, W) in [0, 1]."""
    balanced = gray_world(np.nan_to_num(image.astype(np.float64), nan=0.0))
    luma = balanced.mean(axis=0)
    enhanced = clahe(luma, tiles=tiles, clip_limit=clip_limit)
    ratio = enhanced / np.maximum(luma, 1e-4)
    return np.clip(balanced * ratio[None], 0.0, 1.0).astype(np.float32)
