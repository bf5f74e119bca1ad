"""restore:diagnostics: what this QGIS can run, for bug reports and for checking an installation.

Reports QGIS, Python, GDAL, numpy and onnxruntime versions, where the Python packages were loaded from
(the plugin-private folder of the installer, or elsewhere), the execution providers that really work
(the backend tries each one), and the installed models with their checksums. It works, and says what
to install, when dependencies are missing.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

from qgis.core import (
    Qgis,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingOutputString,
    QgsProcessingParameterFileDestination,
)
from qgis.PyQt.QtCore import QCoreApplication

from .. import _backend, dependencies


def collect() -> dict[str, Any]:
    """The diagnostics as a JSON-ready dict."""
    missing = dependencies.check()
    report: dict[str, Any] = {
        "qgis": Qgis.version(),
        "python": f"{platform.python_version()} ({dependencies.qgis_python()})",
        "platform": platform.platform(),
        "plugin_backend": str(Path(_backend.backend.__file__).parent),
        "dependencies": dependencies.versions(),
        "python_packages": dependencies.packages_report(),
    }
    if missing:
        report["missing_dependencies"] = dependencies.instructions(missing)
        return report
    try:
        report["backend"] = _backend.module("diagnostics").diagnose()
    except Exception as exc:  # diagnostics must report, not fail
        report["backend"] = {"error": f"{type(exc).__name__}: {exc}"}
    return report


def as_text(value: Any, indent: int = 0) -> list[str]:
    """Indented ``key: value`` lines of a nested dict/list, for the Processing log."""
    pad = "  " * indent
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            if isinstance(item, (dict, list, tuple)) and item:
                lines.append(f"{pad}{key}:")
                lines += as_text(item, indent + 1)
            elif "\n" in str(item):
                lines.append(f"{pad}{key}:")
                lines += [f"{pad}  {line}" for line in str(item).splitlines()]
            else:
                lines.append(f"{pad}{key}: {item}")
        return lines
    if isinstance(value, (list, tuple)):
        lines = []
        for item in value:
            sub = as_text(item, indent + 1)
            if sub:
                lines.append(f"{pad}- {sub[0].strip()}")
                lines += sub[1:]
        return lines
    return [f"{pad}{value}"]


def summary(report: dict[str, Any]) -> str:
    """One line for the REPORT output: qgis_process and the Results panel print outputs again, so the
    full report (already in the log) is not repeated there."""
    if "missing_dependencies" in report:
        missing = [k for k, v in report["dependencies"].items() if str(v).startswith("missing")]
        return "missing dependencies: " + ", ".join(missing) + " (see the log)"
    backend = report.get("backend", {})
    if "error" in backend:
        return f"backend error: {backend['error']}"
    working = [name for name, status in backend.get("providers", {}).items() if status == "ok"]
    models = [m["name"] for m in backend.get("models", [])]
    return (f"onnxruntime {backend.get('onnxruntime')}; working providers: {', '.join(working) or 'none'}; "
            f"{len(models)} model(s): {', '.join(models) or 'none'}")


class DiagnosticsAlgorithm(QgsProcessingAlgorithm):
    """Reports versions, working execution providers and installed models."""

    OUTPUT = "OUTPUT"
    REPORT = "REPORT"

    def name(self) -> str:
        return "diagnostics"

    def displayName(self) -> str:
        return self.tr("Diagnostics: versions, devices and installed models")

    def group(self) -> str:
        return self.tr("Restoration")

    def groupId(self) -> str:
        return "restoration"

    def shortHelpString(self) -> str:
        return self.tr(
            "<p>Reports the QGIS, Python, GDAL, numpy and onnxruntime versions, where the Python "
            "packages were loaded from (the plugin's own package folder, filled by its installer), the "
            "ONNX Runtime "
            "execution providers that really work here (each is tried on a tiny model, not just listed), "
            "and the installed restoration models with their SHA-256 checksums.</p>"
            "<p>When a dependency is missing it says exactly what to install and how. Attach the report "
            "(optionally saved as JSON) to bug reports.</p>"
        )

    def createInstance(self) -> DiagnosticsAlgorithm:
        return DiagnosticsAlgorithm()

    def tr(self, text: str) -> str:
        return QCoreApplication.translate("RestoreAlgorithm", text)

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        self.addParameter(
            QgsProcessingParameterFileDestination(
                self.OUTPUT, self.tr("Save the report as JSON"), fileFilter="JSON files (*.json)",
                optional=True, createByDefault=False,
            )
        )
        self.addOutput(QgsProcessingOutputString(self.REPORT, self.tr("Summary of the report")))

    def processAlgorithm(
        self, parameters: dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict[str, Any]:
        report = collect()
        for line in as_text(report):  # the report once, in the log; REPORT is its one-line summary
            feedback.pushInfo(line)
        outputs: dict[str, Any] = {self.REPORT: summary(report)}
        path = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        if path:
            Path(path).write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
            outputs[self.OUTPUT] = path
        return outputs
