"""restore:dehaze: remove haze and thin fog from optical imagery."""

from __future__ import annotations

from .base import RestoreAlgorithmBase


class DehazeAlgorithm(RestoreAlgorithmBase):
    TASK = "dehaze"
    TAGS = (
        "haze", "hazy", "fog", "mist", "smog", "atmosphere", "contrast", "Sentinel-2", "Sentinel",
        "Landsat", "aerial", "RGB",
    )
    WHAT = (
        "Removes haze and thin fog from an optical image: contrast and colour are restored where haze "
        "veils the ground. It always removes some haze, even from a clear image, and then darkens "
        "shadows: on light haze lower Strength (about 0.5), and compare with the input."
    )
    INPUTS = (
        "A hazy optical raster (e.g. Sentinel-2 or Landsat true-colour bands, or an aerial RGB image) of "
        "any data type; pick with Bands the bands the model expects (see its card, e.g. red, green, blue)."
    )
