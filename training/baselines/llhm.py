"""LLHM-style gap filling from another date: local linear histogram matching of the reference.

The USGS method for Landsat-7 SLC-off products (Scaramuzza, Micijevic and Chander, 2004, "SLC
Gap-Filled Products Phase One Methodology"): in a moving window around each gap pixel, the
reference date is mapped onto the target date by the gain and bias that match their means and
standard deviations over the pixels valid in both, ``target = gain * reference + bias`` with
``gain = std_t / std_r`` and ``bias = mean_t - gain * mean_r``, and the gap takes the mapped
reference value. "Style": one window size (31 px, the USGS default is 19-31 px) and no iterative
multi-scene mosaicking; where the reference is missing too, or a window has too few common pixels,
GDAL FillNodata fills instead.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .fillnodata import gdal_fill_nodata


def local_linear_fill(image: np.ndarray, reference: np.ndarray, *, window: int = 31,
                      min_samples: int = 25) -> np.ndarray:  # fmt: skip
    """Fill the NaN pixels of ``image`` (C, H, W) from ``reference`` (C, H, W, NaN = missing)."""
    valid_t = np.isfinite(image).all(axis=0)
    valid_r = np.isfinite(reference).all(axis=0)
    both = (valid_t & valid_r).astype(np.float64)
    count = ndimage.uniform_filter(both, window, mode="constant") * window * window
    fallback = gdal_fill_nodata(image)
    out = np.where(np.isfinite(image), image, fallback).astype(np.float32)
    usable = ~valid_t & valid_r & (count >= min_samples)
    n = np.maximum(count, 1.0)
    for b in range(image.shape[0]):
        t = np.where(both > 0, image[b], 0.0).astype(np.float64)
        r = np.where(both > 0, reference[b], 0.0).astype(np.float64)

        def local_sum(a: np.ndarray) -> np.ndarray:
            return ndimage.uniform_filter(a, window, mode="constant") * window * window

        mean_t, mean_r = local_sum(t) / n, local_sum(r) / n
        var_t = np.maximum(local_sum(t * t) / n - mean_t**2, 0.0)
        var_r = np.maximum(local_sum(r * r) / n - mean_r**2, 0.0)
        gain = np.sqrt(var_t / np.maximum(var_r, 1e-12))
        gain = np.where(var_r > 1e-12, gain, 1.0)
        bias = mean_t - gain * mean_r
        mapped = gain * np.nan_to_num(reference[b]) + bias
        out[b] = np.where(usable, mapped, out[b])
    return out
