"""The plugin object QGIS creates: registers the Processing provider, with or without a GUI."""

from __future__ import annotations

from qgis.core import QgsApplication

from .provider import RestoreProvider


class RestorePlugin:
    """Holds the provider. ``iface`` is ``None`` under ``qgis_process``; nothing here needs it."""

    def __init__(self, iface: object | None) -> None:
        self.iface = iface
        self.provider: RestoreProvider | None = None

    def initProcessing(self) -> None:
        """Called alone by ``qgis_process``, and by :meth:`initGui` in the desktop application."""
        if self.provider is None:
            self.provider = RestoreProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self) -> None:
        self.initProcessing()

    def unload(self) -> None:
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
