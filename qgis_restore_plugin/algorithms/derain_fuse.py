"""restore:derain_fuse: remove rain streaks from a visible image and fuse it with infrared."""

from __future__ import annotations

from .base import RestoreAlgorithmBase


class DerainFuseAlgorithm(RestoreAlgorithmBase):
    TASK = "derain_fuse"
    TAGS = (
        "rain", "derain", "night", "infrared", "thermal", "IR", "fusion", "image fusion", "visible",
    )
    PARAMETER_NAMES = {"optical": "VISIBLE"}
    PARAMETER_DESCRIPTIONS = {"optical": "Visible raster (rainy)"}
    WHAT = (
        "Removes rain streaks from a (night-time) visible image and fuses it with an infrared image, "
        "which keeps the warm targets rain and darkness hide."
    )
    INPUTS = (
        "A rainy visible raster (VISIBLE) and an infrared raster (INFRARED) of the same scene, aligned "
        "on the same pixel grid."
    )
