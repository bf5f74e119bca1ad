"""restore:derain_fuse: remove rain streaks from a visible image and fuse it with infrared."""

from __future__ import annotations

from typing import Any

from qgis.core import QgsProcessingContext, QgsProcessingParameterRasterDestination

from .base import RestoreAlgorithmBase


class DerainFuseAlgorithm(RestoreAlgorithmBase):
    TASK = "derain_fuse"
    TAGS = (
        "rain", "derain", "night", "infrared", "thermal", "IR", "fusion", "image fusion", "visible",
    )
    PARAMETER_NAMES = {"optical": "VISIBLE"}
    PARAMETER_DESCRIPTIONS = {"optical": "Visible raster (rainy)"}
    DERAINED = "DERAINED"
    WHAT = (
        "Removes rain streaks from a (night-time) visible image and fuses it with an infrared image, "
        "which keeps the warm targets rain and darkness hide. It runs in two stages: a de-raining model "
        "on the visible image, then a fusion model on its result and the infrared image; DERAINED "
        "also keeps the first stage's result, the de-rained visible image."
    )
    INPUTS = (
        "A rainy visible raster (VISIBLE) and an infrared raster (INFRARED) of the same scene, aligned "
        "on the same pixel grid."
    )

    def add_extra_outputs(self) -> None:
        self.addParameter(
            QgsProcessingParameterRasterDestination(
                self.DERAINED, self.tr("De-rained visible raster (stage 1)"), optional=True,
                createByDefault=False,
            )
        )  # fmt: skip

    def extra_options(self, parameters: dict[str, Any], context: QgsProcessingContext) -> dict[str, Any]:
        derained = self.parameterAsOutputLayer(parameters, self.DERAINED, context)
        return {"stage_outputs": {"derain": derained}} if derained else {}

    def outputs_of(self, result: Any) -> dict[str, Any]:
        outputs = super().outputs_of(result)
        derained = getattr(result, "stage_outputs", {}).get("derain")
        outputs[self.DERAINED] = str(derained) if derained else None
        return outputs
