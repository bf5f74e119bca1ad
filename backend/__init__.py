"""Restoration backend: model packages, runtimes, the streaming tiled raster engine and the CLI.

Never imports qgis: the same code runs inside QGIS, under ``qgis_process`` and from the command line.
"""

__version__ = "0.1.0"
