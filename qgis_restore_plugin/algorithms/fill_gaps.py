"""restore:fill_gaps: fill missing pixels (Landsat-7 SLC-off stripes, dead lines, nodata holes)."""

from __future__ import annotations

from typing import Any

from qgis.core import QgsProcessingContext, QgsProcessingParameterRasterDestination

from .base import RestoreAlgorithmBase


class FillGapsAlgorithm(RestoreAlgorithmBase):
    TASK = "fill_gaps"
    TAGS = (
        "gaps", "gap filling", "stripes", "SLC-off", "Landsat 7", "Landsat", "dead lines",
        "missing data", "nodata", "inpainting", "holes",
    )
    MASK_OUTPUT = "MASK_OUTPUT"
    WHAT = (
        "Fills missing pixels (Landsat-7 SLC-off scan-line gaps, dead detector lines, nodata holes) "
        "with values consistent with their surroundings, and writes a mask of the pixels it filled."
    )
    INPUTS = (
        "A raster with gaps. The gaps are taken from the MASK raster when given (non-zero = missing), "
        "otherwise from the input's nodata value, otherwise from the mask the model predicts itself."
    )

    def add_extra_outputs(self) -> None:
        self.addParameter(
            QgsProcessingParameterRasterDestination(
                self.MASK_OUTPUT, self.tr("Mask of filled pixels"), optional=True, createByDefault=True
            )
        )

    def extra_options(self, parameters: dict[str, Any], context: QgsProcessingContext) -> dict[str, Any]:
        return {"mask_output": self.parameterAsOutputLayer(parameters, self.MASK_OUTPUT, context) or None}

    def outputs_of(self, result: Any) -> dict[str, Any]:
        outputs = super().outputs_of(result)
        outputs[self.MASK_OUTPUT] = str(result.mask_output) if result.mask_output else None
        return outputs
