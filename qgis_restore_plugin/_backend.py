"""The one place the plugin finds the backend package.

``make package`` vendors ``backend/`` inside the plugin folder (``qgis_restore_plugin/backend``) so an
installed plugin cannot pick up another package called ``backend``; in a source checkout the plugin
uses the top-level ``backend`` package beside it. Only ``backend.tasks`` and ``backend.errors`` are
imported eagerly: they are pure Python, so the provider loads even when numpy, GDAL or onnxruntime
cannot be imported. Everything else is imported on use through :func:`module`.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

if (Path(__file__).resolve().parent / "backend" / "__init__.py").is_file():
    from . import backend as backend  # vendored copy inside the installed plugin
else:  # source checkout: the repository root is on sys.path (QGIS_PLUGINPATH or the tests)
    import backend as backend  # type: ignore[no-redef]

errors = importlib.import_module(f"{backend.__name__}.errors")
tasks = importlib.import_module(f"{backend.__name__}.tasks")


def module(name: str) -> ModuleType:
    """Import and return ``backend.<name>`` (e.g. ``"pipeline"``) from whichever copy is in use."""
    return importlib.import_module(f"{backend.__name__}.{name}")
