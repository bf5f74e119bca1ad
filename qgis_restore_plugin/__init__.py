"""QGIS Raster Restoration: Processing algorithms that restore degraded rasters with ONNX models.

QGIS calls :func:`classFactory`; headless ``qgis_process`` calls it with ``iface=None`` and then only
``initProcessing()``, so nothing here may need the GUI.
"""

from __future__ import annotations


def classFactory(iface):
    """Return the plugin object QGIS drives (``iface`` is ``None`` under ``qgis_process``)."""
    from .plugin import RestorePlugin

    return RestorePlugin(iface)
