"""The Processing provider ``restore`` ("Raster restoration").

It always loads every algorithm, even when onnxruntime or a GDAL-compatible numpy is missing from
QGIS's Python: the algorithms then fail with install instructions and ``restore:diagnostics`` reports
what is missing, instead of the plugin silently disappearing.
"""

from __future__ import annotations

import html
from pathlib import Path

from qgis.core import Qgis, QgsMessageLog, QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from . import _backend, dependencies, help_text
from .algorithms import RESTORATION_ALGORITHMS, DiagnosticsAlgorithm

PLUGIN_DIR = Path(__file__).resolve().parent
#: The icon inside the packaged plugin, then in the source checkout.
ICON_CANDIDATES = (
    PLUGIN_DIR / "resources" / "icons" / "restore.svg",
    PLUGIN_DIR.parent / "resources" / "icons" / "restore.svg",
)


class RestoreProvider(QgsProcessingProvider):
    """Registers ``restore:<task>`` for every task and ``restore:diagnostics``."""

    def __init__(self, gui: bool = False) -> None:
        super().__init__()
        self.gui = gui  # desktop application: missing dependencies also go to the Log Messages panel

    def id(self) -> str:
        return "restore"

    def name(self) -> str:
        return "Raster restoration"

    def longName(self) -> str:
        return f"Raster restoration {_backend.backend.__version__}"

    def icon(self) -> QIcon:
        icon = next((p for p in ICON_CANDIDATES if p.is_file()), None)
        return QIcon(str(icon)) if icon else super().icon()

    def supportedOutputRasterLayerExtensions(self) -> list[str]:
        return ["tif"]  # the backend writes GeoTIFF

    def loadAlgorithms(self) -> None:
        help_text.refresh()  # "Reload" in the toolbox re-reads the installed models
        missing = dependencies.check()
        if missing and self.gui:  # qgis_process prints the message once, when an algorithm fails
            QgsMessageLog.logMessage(  # the panel renders HTML (newlines become <br>): escape "<"
                log_text(dependencies.instructions(missing)),
                "Raster restoration", Qgis.MessageLevel.Warning,
            )
        tasks = set(_backend.tasks.TASKS)
        registered = {cls.TASK for cls in RESTORATION_ALGORITHMS}
        if registered != tasks:  # a task added to backend.tasks without an algorithm (or vice versa)
            QgsMessageLog.logMessage(
                f"tasks without an algorithm: {sorted(tasks - registered)}; "
                f"algorithms without a task: {sorted(registered - tasks)}",
                "Raster restoration",
                Qgis.MessageLevel.Critical,
            )
        for cls in RESTORATION_ALGORITHMS:
            if cls.TASK in tasks:
                self.addAlgorithm(cls())
        self.addAlgorithm(DiagnosticsAlgorithm())


def log_text(message: str) -> str:
    """``message`` for the Log Messages panel, which appends it as HTML: ``"numpy<2"`` would be cut at
    ``<``. Newlines are kept: the panel turns them into line breaks itself."""
    return html.escape(message, quote=False)
