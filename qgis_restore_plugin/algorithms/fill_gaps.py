"""restore:fill_gaps: fill missing pixels (Landsat-7 SLC-off stripes, dead lines, nodata holes)."""

from __future__ import annotations

from typing import Any

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterRasterDestination,
)

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
    RESAMPLE = "RESAMPLE"
    INPUTS = (
        "A raster with gaps. The gaps are taken from the MASK raster when given (non-zero = missing), "
        "otherwise from the input's nodata value, otherwise from the mask the model predicts itself. "
        "Optionally a REFERENCE raster: the same place on another date with the same bands (e.g. an "
        "earlier or later Landsat-7 scene, whose own gaps fall elsewhere), from which the gaps are "
        "filled where it has data. The MASK and REFERENCE are resampled onto the input's grid unless "
        "RESAMPLE is off."
    )

    def add_extra_outputs(self) -> None:
        self.addParameter(
            QgsProcessingParameterBoolean(
                self.RESAMPLE, self.tr("Resample the mask and the reference onto the input's grid"),
                defaultValue=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterRasterDestination(
                self.MASK_OUTPUT, self.tr("Mask of filled pixels"), optional=True, createByDefault=True
            )
        )

    def extra_options(self, parameters: dict[str, Any], context: QgsProcessingContext) -> dict[str, Any]:
        return {"mask_output": self.parameterAsOutputLayer(parameters, self.MASK_OUTPUT, context) or None,
                "resample": self.parameterAsBoolean(parameters, self.RESAMPLE, context)}

    def outputs_of(self, result: Any) -> dict[str, Any]:
        outputs = super().outputs_of(result)
        outputs[self.MASK_OUTPUT] = str(result.mask_output) if result.mask_output else None
        return outputs
