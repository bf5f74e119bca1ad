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
        "Removes clouds and their shadows (ACA-CRNet): thin cirrus veils are lifted and the ground under "
        "thick cumulus is filled in from its surroundings. The shipped RGB model also changes cloud-free "
        "ground (docs/MODELS.md): restrict it to the cloudy area with Extent or Polygons. "
        "With a co-registered SAR image, which sees through clouds, a model that takes SAR (none "
        "ships yet) reconstructs thick clouds from it. The network's attention compares every pair "
        "of positions in a tile, so its memory grows with the fourth power of the tile size: keep "
        "Tile size at the model's default (160 px, under 1 GB per tile) or below."
    )
    INPUTS = (
        "A cloudy optical raster: red, green, blue (any data type), or the 13 Sentinel-2 L1C bands "
        "B1-B12 with B8A resampled to one grid (a 13-band model is picked for it). For Landsat 8/9 "
        "L1 DN set Black level to 5000. Optionally a SAR raster (Sentinel-1 VV, VH in dB), resampled "
        "onto the optical grid when asked."
    )
