"""The plugin object QGIS creates: registers the Processing provider, with or without a GUI.

When it is created, the plugin-private package folder (filled by ``installer.py``) goes first on
``sys.path``, so the dependencies it holds import in the desktop application and under
``qgis_process`` alike, with no PYTHONPATH. In the desktop application a missing dependency opens a
message bar with an *Install* button (and the *Plugins* menu has the same entry).
"""

from __future__ import annotations

import contextlib
import html

from qgis.core import Qgis, QgsApplication

from . import dependencies
from .provider import RestoreProvider

MENU = "Raster Restoration"


class RestorePlugin:
    """Holds the provider. ``iface`` is ``None`` under ``qgis_process``; only :meth:`initGui` uses it."""

    def __init__(self, iface: object | None) -> None:
        self.iface = iface
        self.provider: RestoreProvider | None = None
        self.packages = dependencies.activate_packages()
        self._action = None
        self._bar_item = None

    def initProcessing(self) -> None:
        """Called alone by ``qgis_process``, and by :meth:`initGui` in the desktop application."""
        if self.provider is None:
            self.provider = RestoreProvider(gui=self.iface is not None)
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self) -> None:
        """Register the provider, add the installer to the Plugins menu, offer it if a package is missing."""
        self.initProcessing()
        from qgis.PyQt.QtWidgets import QAction

        self._action = QAction("Install Python dependencies…", self.iface.mainWindow())
        self._action.triggered.connect(self.show_installer)
        self.iface.addPluginToMenu(MENU, self._action)
        missing = dependencies.check()
        if missing:
            self.offer_install(missing)

    def offer_install(self, missing: list[dependencies.MissingDependency]) -> None:
        """A message bar naming what is missing, with an *Install* button that opens the installer."""
        from qgis.PyQt.QtWidgets import QPushButton

        bar = self.iface.messageBar()
        names = ", ".join(dict.fromkeys(m.name.split(" ")[0] for m in missing))
        widget = bar.createMessage(
            "Raster Restoration", html.escape(f"needs {names}, which QGIS's Python cannot import.")
        )
        button = QPushButton("Install…", widget)
        button.clicked.connect(self.show_installer)
        widget.layout().addWidget(button)
        self._bar_item = bar.pushWidget(widget, Qgis.MessageLevel.Warning)

    def show_installer(self) -> None:
        """Open the installer dialog; when it succeeds the packages are loaded into this session."""
        from .install_dialog import InstallDialog

        dialog = InstallDialog(self.iface.mainWindow() if self.iface else None)
        dialog.installed.connect(self.after_install)
        dialog.exec_()

    def after_install(self, summary: str) -> None:
        """Load the freshly installed packages and refresh the algorithms (help lists the models)."""
        self.packages = dependencies.activate_packages()
        if self.provider is not None:
            self.provider.refreshAlgorithms()
        if self.iface is None:
            return
        bar = self.iface.messageBar()
        if self._bar_item is not None:
            with contextlib.suppress(RuntimeError):  # already closed by the user
                bar.popWidget(self._bar_item)
            self._bar_item = None
        missing = dependencies.check()
        if missing:
            bar.pushMessage("Raster Restoration", html.escape(dependencies.instructions(missing)),
                            Qgis.MessageLevel.Warning)
        else:
            bar.pushMessage("Raster Restoration", html.escape(summary), Qgis.MessageLevel.Success, 10)

    def unload(self) -> None:
        if self._action is not None and self.iface is not None:
            self.iface.removePluginMenu(MENU, self._action)
            self._action = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
