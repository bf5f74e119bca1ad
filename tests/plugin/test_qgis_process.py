"""End to end through the real ``qgis_process`` binary, as users and CI run the plugin headless.

Each ``qgis_process`` start costs ~1.5 s, so these tests are few: a run on a GeoTIFF, a graphical-
modeler model, the plugin with onnxruntime missing, and the packaged zip installed into a profile.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO_ROOT
from tests.plugin.conftest import COLS, QGIS_PROCESS, ROWS, make_scene, qgis_process_env

pytestmark = [
    pytest.mark.qgis,
    pytest.mark.skipif(not QGIS_PROCESS.is_file(), reason=f"{QGIS_PROCESS} not installed"),
]
ALGORITHM_IDS = {f"restore:{t}" for t in ("dehaze", "desand", "decloud", "derain_fuse", "fill_gaps",
                                          "diagnostics")}
MODEL3 = Path(__file__).parent / "data" / "fill_gaps_then_dehaze.model3"


def enabled_profile(folder: Path) -> Path:
    """A throw-away QGIS profile with our plugin enabled (what ticking it in the plugin manager does)."""
    ini = folder / "profiles" / "default" / "QGIS" / "QGIS3.ini"
    ini.parent.mkdir(parents=True)
    ini.write_text("[PythonPlugins]\nqgis_restore_plugin=true\n")
    return folder


def qgis_process(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(QGIS_PROCESS), *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=180)


def read(path: Path):
    from osgeo import gdal

    ds = gdal.Open(str(path))
    return (ds.ReadAsArray().reshape(ds.RasterCount, ds.RasterYSize, ds.RasterXSize),
            ds.GetGeoTransform(), ds.GetProjection())


def test_qgis_process_run_dehaze_keeps_georeferencing_and_values(models_dir, tmp_path):
    scene = make_scene(tmp_path / "scene.tif", dtype="uint16", nodata=0)
    out = tmp_path / "dehazed.tif"
    env = qgis_process_env(enabled_profile(tmp_path / "profile"), RESTORE_MODELS_PATH=str(models_dir))
    proc = qgis_process("run", "restore:dehaze", "--", f"INPUT={scene}", "MODEL=test-dehaze", "DEVICE=1",
                        "TILE_SIZE=24", "OVERLAP=4", f"OUTPUT={out}", env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "CPUExecutionProvider" in proc.stdout and "test-dehaze" in proc.stdout
    restored, geotransform, projection = read(out)
    original, original_gt, original_srs = read(scene)
    assert restored.shape == (3, ROWS, COLS)
    assert geotransform == pytest.approx(original_gt)
    from osgeo import gdal, osr

    assert osr.SpatialReference(projection).IsSame(osr.SpatialReference(original_srs))
    valid = original != 0
    np.testing.assert_allclose(restored[valid], original[valid], atol=0.5)  # identity model, uint16
    assert gdal.Open(str(out)).GetRasterBand(1).GetNoDataValue() == 0


def test_modeler_model_fill_gaps_then_dehaze_runs_in_qgis_process(models_dir, tmp_path):
    from tests.support.rasters import make_raster

    array = np.random.default_rng(2).random((3, ROWS, COLS)).astype(np.float32)
    array[:, :, 20:23] = -999
    scene = make_raster(tmp_path / "gappy.tif", array, nodata=-999)
    out = tmp_path / "restored.tif"
    env = qgis_process_env(enabled_profile(tmp_path / "profile"), RESTORE_MODELS_PATH=str(models_dir))
    proc = qgis_process("run", str(MODEL3), "--", f"input={scene}", "dehaze_model=test-dehaze",
                        "fill_model=test-fill-gaps", f"dehaze:restored={out}", env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    restored, geotransform, _ = read(out)
    assert geotransform == pytest.approx(read(scene)[1])
    np.testing.assert_allclose(restored[:, :, 20:23], 0.5, atol=1e-5)  # filled, then identity-dehazed
    np.testing.assert_allclose(restored[:, :, :20], array[:, :, :20], atol=1e-5)


def test_plugin_loads_without_onnxruntime_and_says_what_to_install(models_dir, tmp_path):
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['onnxruntime'] = None\n")
    env = qgis_process_env(enabled_profile(tmp_path / "profile"), RESTORE_MODELS_PATH=str(models_dir))
    env["PYTHONPATH"] = os.pathsep.join([str(blocker), env["PYTHONPATH"]])
    listed = qgis_process("list", env=env, cwd=tmp_path)
    assert set(listed.stdout.split()) >= ALGORITHM_IDS, listed.stdout[-2000:] + listed.stderr
    scene = make_scene(tmp_path / "scene.tif")
    out = tmp_path / "x.tif"
    proc = qgis_process("run", "restore:dehaze", "--", f"INPUT={scene}", f"OUTPUT={out}", env=env,
                        cwd=tmp_path)
    message = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "onnxruntime" in message and "installer.py" in message, message
    assert message.count("need Python packages") == 1, message  # the instructions once, not three times
    assert "Traceback" not in message
    assert not out.exists()


def test_packaged_zip_installs_into_a_profile_and_lists_its_algorithms(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "package_plugin.py"), "--out", str(dist)],
                   check=True, capture_output=True, text=True, timeout=300)
    config = tmp_path / "qgis"
    env = dict(os.environ, QGIS_CUSTOM_CONFIG_PATH=str(config), QT_QPA_PLATFORM="offscreen")
    env.pop("QGIS_PLUGINPATH", None)  # only the installed copy may be found
    env["RESTORE_SKIP_DEPENDENCIES"] = "1"  # the venv's packages below; the next test installs them
    install = subprocess.run(["bash", str(REPO_ROOT / "scripts" / "install_plugin.sh"),
                              str(dist / "qgis_restore_plugin.zip")],
                             env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stdout + install.stderr
    assert "restore:diagnostics" in install.stdout
    installed = config / "profiles" / "default" / "python" / "plugins" / "qgis_restore_plugin"
    assert (installed / "backend" / "pipeline.py").is_file()
    assert (installed / "requirements.txt").is_file() and (installed / "installer.py").is_file()
    assert (installed / "docs" / "MODELS.md").is_file()  # the help links it inside the plugin
    assert "RESTORE_SKIP_DEPENDENCIES=1" in install.stdout
    # The installed plugin runs its own vendored backend and finds the models shipped inside it.
    env = qgis_process_env(config, plugin_path=tmp_path / "nowhere")
    env["PYTHONPATH"] = env["PYTHONPATH"].split(os.pathsep)[0]  # venv packages, not the repository
    out = tmp_path / "diagnostics.json"
    proc = qgis_process("run", "restore:diagnostics", "--", f"OUTPUT={out}", env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out.read_text())
    assert Path(report["plugin_backend"]) == installed / "backend"
    index = REPO_ROOT / "resources" / "models" / "index.json"
    shipped = json.loads(index.read_text())["models"] if index.is_file() else []
    for entry in shipped:
        assert entry["name"] in proc.stdout, f"shipped model {entry['name']} not found once installed"


def test_install_script_installs_the_dependencies_into_the_profile_folder_qgis_process_uses(tmp_path):
    """``make install``'s last step: the pinned packages land in the profile's private folder, and
    ``qgis_process`` (no PYTHONPATH) loads them from there. Fake wheels stand in for PyPI."""
    from qgis_restore_plugin import installer
    from tests.plugin.fake_wheels import wheelhouse_for

    dist = tmp_path / "dist"
    subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "package_plugin.py"), "--out", str(dist),
                    "--without-models"], check=True, capture_output=True, text=True, timeout=300)
    wheels = wheelhouse_for(tmp_path / "wheels", installer.read_requirements())
    config = tmp_path / "qgis"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "RESTORE_", "QGIS_"))}
    env.update(QGIS_CUSTOM_CONFIG_PATH=str(config), QT_QPA_PLATFORM="offscreen", PIP_NO_INDEX="1",
               PIP_FIND_LINKS=str(wheels), RESTORE_RUNTIME="cpu")
    install = subprocess.run(["bash", str(REPO_ROOT / "scripts" / "install_plugin.sh"),
                              str(dist / "qgis_restore_plugin.zip")],
                             env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stdout + install.stderr
    folder = config / "profiles" / "default" / "python" / "restore_packages" / (
        f"python{sys.version_info.major}.{sys.version_info.minor}")
    assert (folder / "onnxruntime" / "__init__.py").is_file() and (folder / "onnx" / "__init__.py").is_file()
    assert "ONNX Runtime: onnxruntime (the CPU build, as requested)" in install.stdout
    assert "missing dependencies" not in install.stdout
    out = tmp_path / "diagnostics.json"
    proc = qgis_process("run", "restore:diagnostics", "--", f"OUTPUT={out}", env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out.read_text())
    packages = report["python_packages"]
    assert packages["folder"] == str(folder) and packages["on_sys_path"] is True
    assert packages["runtime"].startswith("onnxruntime (")
    assert packages["loaded_from"]["onnxruntime"] == str(folder / "onnxruntime")
    assert report["dependencies"]["onnxruntime"] == "1.23.2"  # the (fake) pinned one, from the folder
    assert "missing_dependencies" not in report
    assert proc.stdout.count("python_packages:") == 1  # the report once, not again as REPORT


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("RESTORE_TEST_ONLINE"),
                    reason="downloads ~60 MB from PyPI: set RESTORE_TEST_ONLINE=1")
def test_make_install_alone_then_qgis_process_dehazes_with_no_pythonpath(tmp_path):
    """The issue's acceptance check with the real packages from PyPI (opt-in: network, a minute)."""
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "package_plugin.py"), "--out", str(dist)],
                   check=True, capture_output=True, text=True, timeout=300)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "RESTORE_", "QGIS_"))}
    env.update(QGIS_CUSTOM_CONFIG_PATH=str(tmp_path / "qgis"), QT_QPA_PLATFORM="offscreen")
    install = subprocess.run(["bash", str(REPO_ROOT / "scripts" / "install_plugin.sh"),
                              str(dist / "qgis_restore_plugin.zip")],
                             env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stdout + install.stderr
    sample = REPO_ROOT / "resources" / "samples" / "sentinel2_hazy_rgb.tif"
    out = tmp_path / "dehazed.tif"
    proc = qgis_process("run", "restore:dehaze", "--", f"INPUT={sample}", f"OUTPUT={out}", env=env,
                        cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out.is_file() and "restore_packages" in proc.stdout + install.stdout
