"""restore:desand: remove the colour cast and veil of sand-dust storms."""

from __future__ import annotations

from .base import RestoreAlgorithmBase


class DesandAlgorithm(RestoreAlgorithmBase):
    TASK = "desand"
    TAGS = (
        "sand", "dust", "sandstorm", "dust storm", "colour cast", "color cast", "yellow", "haze",
        "RGB", "photo",
    )
    WHAT = (
        "Removes the yellow-brown colour cast and the loss of contrast caused by sand and dust in the "
        "air, restoring natural colours."
    )
    INPUTS = (
        "A dusty optical RGB raster (photograph, aerial or satellite true-colour image) of any data type."
    )
