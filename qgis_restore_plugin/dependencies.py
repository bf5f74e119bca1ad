"""Which Python packages the algorithms need that QGIS's Python cannot import, and how to install them.

QGIS runs its own Python (the system one on Linux, OSGeo4W's on Windows, the bundle's on macOS), so
``pip install`` in some other environment does not help. The checks really import the modules: a
numpy that is present but does not fit GDAL's ``gdal_array`` (numpy 2 over a GDAL built for numpy 1)
counts as missing. Nothing here imports at module level, so the provider always loads.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


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


def install_command(requirements: list[str]) -> str:
    """The pip command line that installs ``requirements`` into QGIS's Python on this platform."""
    quoted = " ".join(f'"{r}"' if "<" in r or ">" in r else r for r in dict.fromkeys(requirements))
    python = qgis_python()
    if sys.platform == "win32":
        return f"python -m pip install {quoted}"
    flags = "--user"
    if (Path(sysconfig.get_path("stdlib")) / "EXTERNALLY-MANAGED").is_file():
        flags += " --break-system-packages"  # Debian/Ubuntu system Python (PEP 668)
    return f"{python} -m pip install {flags} {quoted}"


def numpy_pin() -> str | None:
    """Keep numpy's major version: pip would otherwise pull numpy 2 in as a dependency of onnx or
    onnxruntime and break GDAL bindings built for numpy 1 (and with them QGIS's raster tools)."""
    try:
        import numpy
    except Exception:
        return "numpy<2"
    return "numpy<2" if numpy.__version__.split(".")[0] == "1" else None


def instructions(missing: list[MissingDependency]) -> str:
    """A message for the user: what is missing, why, and exactly how to install it."""
    if not missing:
        return ""
    lines = ["The Raster Restoration algorithms need Python packages that QGIS's Python cannot import:"]
    lines += [f"  - {m.name} ({m.error})" for m in missing]
    pin = numpy_pin()
    command = install_command([m.requirement for m in missing] + ([pin] if pin else []))
    if sys.platform == "win32":
        lines.append("Install them: close QGIS, open the 'OSGeo4W Shell' from the Start menu and run:")
    elif sys.platform == "darwin":
        lines.append("Install them: close QGIS, open a Terminal and run:")
    else:
        lines.append("Install them: close QGIS and run in a terminal:")
    lines.append(f"  {command}")
    lines.append(
        "Or install them into a virtual environment and add its site-packages folder to PYTHONPATH "
        "(QGIS: Settings > Options > System > Environment). For NVIDIA GPUs install onnxruntime-gpu "
        "instead of onnxruntime. Then restart QGIS and run 'restore:diagnostics' to check."
    )
    if os.environ.get("PYTHONPATH"):
        lines.append(f"(PYTHONPATH is currently {os.environ['PYTHONPATH']})")
    return "\n".join(lines)
