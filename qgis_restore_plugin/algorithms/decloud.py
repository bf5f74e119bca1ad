"""restore:decloud: reconstruct the ground under clouds, optionally guided by SAR."""

from __future__ import annotations

from .base import RestoreAlgorithmBase


class DecloudAlgorithm(RestoreAlgorithmBase):
    TASK = "decloud"
    TAGS = (
        "clouds", "cloud", "cloud removal", "thin clouds", "haze", "SAR", "Sentinel-1",
        "Sentinel-2", "Sentinel", "Landsat",
    )
    WHAT = (
        "Removes thin clouds and reconstructs the ground under them. With a co-registered SAR image, "
        "which sees through clouds, models that accept it reconstruct thicker clouds too."
    )
    INPUTS = (
        "A cloudy optical raster (e.g. Sentinel-2 or Landsat bands), and optionally a SAR raster "
        "(e.g. Sentinel-1 VV/VH) on the same pixel grid."
    )
