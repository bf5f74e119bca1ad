"""Which Python packages the algorithms need that QGIS's Python cannot import, and where they come from.

QGIS runs its own Python (the system one on Linux, OSGeo4W's on Windows, the bundle's on macOS), so
``pip install`` in some other environment does not help. The plugin's installer (``installer.py``)
puts the pinned packages into a private folder under the QGIS profile; :func:`activate_packages` puts
that folder first on ``sys.path`` when the plugin loads. The checks really import the modules: a
numpy that is present but does not fit GDAL's ``gdal_array`` (numpy 2 over a GDAL built for numpy 1)
counts as missing. Nothing here imports a dependency at module level, so the provider always loads.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import installer


@dataclass(frozen=True)
class Dependency:
    """A Python package the algorithms import, with the pip requirement that provides it."""

    name: str
    requirement: str
    check: Callable[[], str]  # imports it and returns its version; raises when it cannot be used


@dataclass(frozen=True)
class MissingDependency:
    """A dependency that failed to import, with the error QGIS's Python gave."""

    name: str
    requirement: str
    error: str


def _numpy_version() -> str:
    import numpy

    return numpy.__version__


def _gdal_array_version() -> str:
    from osgeo import gdal, gdal_array  # noqa: F401  (gdal_array is what needs a matching numpy)

    return gdal.__version__


def _onnx_version() -> str:
    import onnx  # the backend reads model cards from the ONNX metadata with it

    return onnx.__version__


def _onnxruntime_version() -> str:
    import onnxruntime

    return onnxruntime.__version__


DEPENDENCIES: tuple[Dependency, ...] = (
    Dependency("numpy", "numpy<2", _numpy_version),
    Dependency("GDAL Python bindings with numpy (osgeo.gdal_array)", "numpy<2", _gdal_array_version),
    Dependency("onnx", "onnx", _onnx_version),
    Dependency("onnxruntime", "onnxruntime", _onnxruntime_version),
)


def check() -> list[MissingDependency]:
    """Try every dependency now; return the ones that cannot be imported (empty when all work)."""
    importlib.invalidate_caches()  # a package installed while QGIS runs is found without a restart
    missing = []
    for dep in DEPENDENCIES:
        try:
            dep.check()
        except Exception as exc:  # ImportError, or numpy ABI errors raised as other types
            missing.append(MissingDependency(dep.name, dep.requirement, f"{type(exc).__name__}: {exc}"))
    return missing


def versions() -> dict[str, str]:
    """Version of every dependency, or ``"missing (<error>)"``, for the diagnostics report."""
    result = {}
    for dep in DEPENDENCIES:
        try:
            result[dep.name] = dep.check()
        except Exception as exc:
            result[dep.name] = f"missing ({type(exc).__name__}: {exc})"
    return result


def qgis_python() -> str:
    """The interpreter QGIS runs Python with.

    Embedded in QGIS, ``sys.executable`` is whatever ``python3`` comes first on PATH (a pyenv shim,
    say), not QGIS's interpreter; the interpreter of ``sys.exec_prefix`` is the right one.
    """
    if sys.platform == "win32":
        return "python"  # inside the OSGeo4W Shell, `python` is QGIS's interpreter
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for name in (f"python{version}", f"python{sys.version_info.major}"):
        candidate = Path(sys.exec_prefix) / "bin" / name
        if candidate.is_file():
            return str(candidate)
    return sys.executable or shutil.which("python3") or "python3"


def profile_folder() -> Path | None:
    """The QGIS profile folder of this session (``…/profiles/default``), or ``None`` outside QGIS."""
    try:
        from qgis.core import QgsApplication
    except ImportError:
        return None
    path = QgsApplication.qgisSettingsDirPath()
    return Path(path) if path else None


def packages_folder() -> Path | None:
    """The plugin-private folder the installer puts the packages in (``RESTORE_PACKAGES_DIR`` overrides
    it; set empty, none is used)."""
    if installer.FOLDER_ENV in os.environ:
        value = os.environ[installer.FOLDER_ENV]
        return Path(value) if value else None
    profile = profile_folder()
    return installer.folder_for_profile(profile) if profile else None


def activate_packages() -> Path | None:
    """Put the private package folder first on ``sys.path`` when it exists; return it when it was."""
    folder = packages_folder()
    return folder if folder is not None and installer.activate(folder) else None


def installer_command() -> str:
    """The shell command that installs the dependencies into this profile's private folder."""
    profile = profile_folder()
    target = f'--profile "{profile}"' if profile else '--profile "<QGIS profile folder>"'
    if installer.FOLDER_ENV in os.environ and os.environ[installer.FOLDER_ENV]:
        target = f'--target "{os.environ[installer.FOLDER_ENV]}"'
    return f'{qgis_python()} "{Path(installer.__file__).resolve()}" {target}'


def locations() -> dict[str, str]:
    """Where each dependency module was (or would be) loaded from, for the diagnostics report."""
    import importlib.util

    result = {}
    for name in ("numpy", "onnx", "onnxruntime", "google.protobuf"):
        module = sys.modules.get(name)
        origin = getattr(module, "__file__", None) if module is not None else None
        if origin is None:
            try:
                spec = importlib.util.find_spec(name)
            except (ImportError, ValueError):
                spec = None
            origin = spec.origin if spec is not None else None
        result[name] = str(Path(origin).resolve().parent) if origin else "not found"
    return result


def packages_report() -> dict[str, object]:
    """The private package folder: where it is, whether it is on ``sys.path``, what was installed."""
    folder = packages_folder()
    report: dict[str, object] = {"folder": str(folder) if folder else "none (RESTORE_PACKAGES_DIR is empty)"}
    if folder is None:
        return report
    report["exists"] = folder.is_dir()
    report["on_sys_path"] = str(folder) in sys.path
    manifest = installer.read_manifest(folder)
    if manifest:
        report["runtime"] = f"{manifest.get('runtime')} ({manifest.get('runtime_reason')})"
        report["installed"] = manifest.get("installed", {})
        report["requirements"] = " ".join(manifest.get("requirements", []))
        report["time"] = manifest.get("time", "")
    report["loaded_from"] = locations()
    return report


def missing_summary(missing: list[MissingDependency]) -> str:
    """One line naming what is missing and where the install instructions are."""
    names = ", ".join(dict.fromkeys(m.name.split(" ")[0] for m in missing))
    return (f"Missing Python packages: {names}. Install them with the plugin's installer "
            "(see the message above, or run restore:diagnostics).")


def instructions(missing: list[MissingDependency]) -> str:
    """A message for the user: what is missing, and how to install it into the plugin's own folder."""
    if not missing:
        return ""
    lines = ["The Raster Restoration algorithms need Python packages that QGIS's Python cannot import:"]
    lines += [f"  - {m.name} ({m.error})" for m in missing]
    folder = packages_folder()
    where = f" ({folder})" if folder else ""
    lines += [
        f"Install them into the plugin's own folder{where}; nothing else is changed:",
        "  in QGIS: the Install button of the message bar, or Plugins > Raster Restoration > "
        "Install Python dependencies (no restart needed);",
        "  headless, or from a terminal:",
        f"  {installer_command()}",
        "Then run 'restore:diagnostics' to check.",
    ]
    if os.environ.get("PYTHONPATH"):
        lines.append(f"(PYTHONPATH is currently {os.environ['PYTHONPATH']})")
    return "\n".join(lines)
