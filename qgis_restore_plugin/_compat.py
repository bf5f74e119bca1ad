"""Enum values whose spelling changed between QGIS 3.22 and QGIS 4 (Qt6 drops the old unscoped names)."""

from __future__ import annotations

from qgis.core import Qgis, QgsProcessingParameterDefinition, QgsProcessingParameterNumber

if hasattr(Qgis, "ProcessingNumberParameterType"):  # QGIS >= 3.36
    INTEGER = Qgis.ProcessingNumberParameterType.Integer
    DOUBLE = Qgis.ProcessingNumberParameterType.Double
    ADVANCED = Qgis.ProcessingParameterFlag.Advanced
else:  # QGIS 3.22 - 3.34
    INTEGER = QgsProcessingParameterNumber.Integer
    DOUBLE = QgsProcessingParameterNumber.Double
    ADVANCED = QgsProcessingParameterDefinition.FlagAdvanced
