"""QGIS fixtures: one offscreen ``QgsApplication`` with Processing and our provider, tiny test models.

Everything here needs QGIS (``python3-qgis``); without it the plugin tests skip with the reason.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO_ROOT

QGIS_PLUGINS_DIR = Path("/usr/share/qgis/python/plugins")
QGIS_PROCESS = Path("/usr/bin/qgis_process.bin")  # /usr/bin/qgis_process's wrapper breaks headless
#: Input rasters of the tests: 3 bands, 40 x 48 pixels, UTM 18N, 10 m.
ROWS, COLS = 40, 48


def build_models(folder: Path, tasks: tuple[str, ...] | None = None) -> Path:
    """Tiny models for ``tasks`` (all five by default) in ``folder``, with the ``index.json`` the
    registry reads; returns ``folder``."""
    from backend.package import sha256_file
    from tests.support import tiny_models

    builders = {
        "dehaze": lambda p: tiny_models.identity_model(p, task="dehaze", name="test-dehaze"),
        "desand": lambda p: tiny_models.conv3x3_model(p, task="desand", name="test-desand"),
        "decloud": lambda p: tiny_models.sar_model(p, name="test-decloud"),
        "derain_fuse": lambda p: tiny_models.fuse_model(p, name="test-derain-fuse"),
        "fill_gaps": lambda p: tiny_models.mask_fill_model(p, fill=0.5, name="test-fill-gaps"),
    }
    folder.mkdir(parents=True, exist_ok=True)
    index_path = folder / "index.json"
    entries = json.loads(index_path.read_text())["models"] if index_path.is_file() else []
    for task in tasks or tuple(builders):
        path = builders[task](folder / f"test-{task}.onnx")
        entries.append({"file": path.name, "task": task, "name": f"test-{task}".replace("_", "-"),
                        "sha256": sha256_file(path), "default": True})
    index_path.write_text(json.dumps({"models": entries}, indent=2))
    return folder


def make_scene(path: Path, bands: int = 3, dtype: str = "float32", nodata: float | None = None,
               seed: int = 0) -> Path:
    """A smooth random raster with a CRS and geotransform (values 0..1 for float, 0..1000 else)."""
    from tests.support.rasters import make_raster

    rng = np.random.default_rng(seed)
    array = rng.random((bands, ROWS, COLS)).astype(np.float32)
    if dtype != "float32":
        array = np.round(array * 1000).astype(dtype)
    return make_raster(path, array, nodata=nodata)


@pytest.fixture(scope="session")
def qgis_app() -> Iterator[object]:
    """A headless QGIS with Processing initialised and the ``restore`` provider registered."""
    qgis_core = pytest.importorskip("qgis.core", reason="QGIS Python bindings (python3-qgis) not installed")
    if str(QGIS_PLUGINS_DIR) not in sys.path:
        sys.path.append(str(QGIS_PLUGINS_DIR))
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # The plugin would put the user's profile package folder (filled by `make install`) first on
    # sys.path; the tests use the venv's packages only.
    os.environ["RESTORE_PACKAGES_DIR"] = ""
    app = qgis_core.QgsApplication.instance()
    if app is None:
        qgis_core.QgsApplication.setPrefixPath("/usr", True)
        app = qgis_core.QgsApplication([], False)
        app.initQgis()
    from processing.core.Processing import Processing

    Processing.initialize()
    from qgis_restore_plugin import classFactory

    plugin = classFactory(None)  # iface None and initProcessing() alone, as under qgis_process
    plugin.initProcessing()
    yield app
    plugin.unload()


@pytest.fixture(scope="package")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Tiny models for every task, on ``RESTORE_MODELS_PATH`` while the plugin tests run (package
    scope: the other test packages never see them)."""
    folder = build_models(tmp_path_factory.mktemp("models"))
    previous = os.environ.get("RESTORE_MODELS_PATH")
    os.environ["RESTORE_MODELS_PATH"] = str(folder)
    from qgis_restore_plugin import help_text

    help_text.refresh()
    yield folder
    if previous is None:
        os.environ.pop("RESTORE_MODELS_PATH", None)
    else:
        os.environ["RESTORE_MODELS_PATH"] = previous
    help_text.refresh()


def qgis_process_env(profile: Path, plugin_path: Path = REPO_ROOT, **extra: str) -> dict[str, str]:
    """Environment for ``qgis_process.bin`` with our plugin found, a throw-away profile, and the
    project venv's packages (onnxruntime, onnx) visible to QGIS's Python."""
    env = dict(os.environ)
    site = next((REPO_ROOT / ".venv" / "lib").glob("python3*/site-packages"), None)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        QGIS_CUSTOM_CONFIG_PATH=str(profile),
        QGIS_PLUGINPATH=str(plugin_path),
        PYTHONPATH=os.pathsep.join(p for p in (str(site) if site else "", str(REPO_ROOT)) if p),
    )
    env.pop("RESTORE_PACKAGES_DIR", None)  # qgis_process uses its throw-away profile's folder
    env.update(extra)
    return env
