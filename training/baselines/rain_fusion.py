"""Classical methods for derain_fuse: a de-rainer for stage 1 and two fusions for stage 2.

* ``median_guided_derain``: rain streaks and sensor noise are thin and bright; a 5 x 5 median per band
  removes them, and a self-guided filter (He et al., ECCV 2010) smooths the noise the median leaves
  while keeping its edges.
* ``weighted_average_fusion``: the luminance (full-range BT.601 Y) of the visible image and the
  infrared image averaged, the visible chroma kept (the colour rule NiteDR's fusion stage uses).
* ``laplacian_pyramid_fusion``: Burt and Adelson's Laplacian pyramids of both luminances (4 levels),
  the detail coefficient of larger magnitude kept at each level and the base averaged; chroma as above.

Images are (C, H, W) in [0, 1]; the infrared is (1, H, W).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .dcp import guided_filter

#: Full-range BT.601 (the matrices of ``training.archs.nitedr_fusion``), as numpy.
_RGB_TO_YCRCB = np.array([[0.299, 0.587, 0.114], [0.5, -0.418688, -0.081312], [-0.168736, -0.331264, 0.5]])
_YCRCB_TO_RGB = np.linalg.inv(_RGB_TO_YCRCB)


def median_guided_derain(image: np.ndarray, size: int = 5, radius: int = 4, eps: float = 1e-3) -> np.ndarray:
    out = []
    for band in np.asarray(image, dtype=np.float64):
        median = ndimage.median_filter(band, size=size, mode="reflect")
        out.append(guided_filter(median, median, radius, eps))
    return np.clip(np.stack(out), 0.0, 1.0).astype(np.float32)


def _with_luminance(visible: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``visible`` (3, H, W) with its luminance replaced by ``y`` (H, W), chroma kept."""
    ycrcb = np.tensordot(_RGB_TO_YCRCB, visible.astype(np.float64), axes=1)
    ycrcb[0] = y
    return np.clip(np.tensordot(_YCRCB_TO_RGB, ycrcb, axes=1), 0.0, 1.0).astype(np.float32)


def _luminance(visible: np.ndarray) -> np.ndarray:
    return np.tensordot(_RGB_TO_YCRCB[0], visible.astype(np.float64), axes=1)


def weighted_average_fusion(visible: np.ndarray, infrared: np.ndarray, weight: float = 0.5) -> np.ndarray:
    y = (1.0 - weight) * _luminance(visible) + weight * infrared[0].astype(np.float64)
    return _with_luminance(visible, y)


def _down(x: np.ndarray) -> np.ndarray:
    return ndimage.gaussian_filter(x, 1.0, mode="reflect")[::2, ::2]


def _up(x: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    zoomed = ndimage.zoom(x, 2, order=1, mode="nearest", grid_mode=True)
    pad = ((0, max(0, shape[0] - zoomed.shape[0])), (0, max(0, shape[1] - zoomed.shape[1])))
    padded = np.pad(zoomed, pad, mode="edge")
    return padded[: shape[0], : shape[1]]


def laplacian_pyramid(x: np.ndarray, levels: int) -> list[np.ndarray]:
    """Detail levels, finest first, then the base; ``reconstruct`` inverts it exactly."""
    pyramid = []
    for _ in range(levels - 1):
        low = _down(x)
        pyramid.append(x - _up(low, x.shape))
        x = low
    return [*pyramid, x]


def reconstruct(pyramid: list[np.ndarray]) -> np.ndarray:
    x = pyramid[-1]
    for detail in reversed(pyramid[:-1]):
        x = _up(x, detail.shape) + detail
    return x


def laplacian_pyramid_fusion(visible: np.ndarray, infrared: np.ndarray, levels: int = 4) -> np.ndarray:
    a = laplacian_pyramid(_luminance(visible), levels)
    b = laplacian_pyramid(infrared[0].astype(np.float64), levels)
    fused = [np.where(np.abs(da) >= np.abs(db), da, db) for da, db in zip(a[:-1], b[:-1], strict=True)]
    fused.append(0.5 * (a[-1] + b[-1]))
    return _with_luminance(visible, reconstruct(fused))
