"""The desktop side of the installer under a real (offscreen) QGIS GUI application: the message bar
with its *Install* button, the dialog's progress and pip log, and the packages loaded in the same
session without a restart.

It runs in a separate process of the system Python (QGIS's interpreter here), which, like a fresh
QGIS, cannot import onnxruntime or onnx; fake wheels from a local folder stand in for PyPI.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from qgis_restore_plugin import installer
from tests.conftest import REPO_ROOT
from tests.plugin.fake_wheels import wheelhouse_for

SYSTEM_PYTHON = Path("/usr/bin/python3")

SCRIPT = r'''
import json, sys, time
from pathlib import Path
from qgis.core import QgsApplication
app = QgsApplication([], True)
app.initQgis()
from qgis.gui import QgsMessageBar
from qgis.PyQt.QtWidgets import QPushButton, QWidget

from qgis_restore_plugin import classFactory, dependencies
from qgis_restore_plugin.install_dialog import InstallDialog

class Iface:
    def __init__(self):
        self.window = QWidget()
        self.bar = QgsMessageBar(self.window)
        self.menus = []
    def messageBar(self):
        return self.bar
    def mainWindow(self):
        return self.window
    def addPluginToMenu(self, menu, action):
        self.menus.append(f"{menu} > {action.text()}")
    def removePluginMenu(self, menu, action):
        pass

out = {"missing_before": [m.name for m in dependencies.check()]}
seen = {}

def run_dialog(dialog):
    seen["plan"] = dialog.plan_label.text()
    dialog.resize(820, 640)
    dialog.show()
    dialog.start()
    deadline = time.time() + 240
    while dialog.process is not None and time.time() < deadline:
        app.processEvents()
        time.sleep(0.05)
    app.processEvents()
    dialog.grab().save(sys.argv[1])
    seen["progress"] = dialog.progress.value()
    seen["log"] = dialog.log.toPlainText()
    seen["summary"] = dialog.summary
    return 0

InstallDialog.exec_ = run_dialog
iface = Iface()
plugin = classFactory(iface)
plugin.initGui()
out["menus"] = iface.menus
items = iface.bar.items()
out["bar_items"] = len(items)
buttons = [b for item in items for b in item.findChildren(QPushButton) if b.text().startswith("Install")]
out["bar_text"] = items[0].text() if items else ""
buttons[0].click()  # the Install button of the message bar
out.update(seen)
out["missing_after"] = [m.name for m in dependencies.check()]
out["sys_path_0"] = sys.path[0]
import onnxruntime
out["onnxruntime"] = f"{onnxruntime.__version__} at {onnxruntime.__file__}"
out["bar_after"] = iface.bar.currentItem().text() if iface.bar.currentItem() else ""
plugin.unload()
print("RESULT " + json.dumps(out))
'''

pytestmark = [
    pytest.mark.qgis,
    pytest.mark.skipif(not SYSTEM_PYTHON.is_file(), reason="no system Python with QGIS"),
]


def test_install_button_installs_and_loads_the_packages_without_a_restart(tmp_path):
    probe = subprocess.run([str(SYSTEM_PYTHON), "-c", "import qgis.gui"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("the system Python cannot import qgis.gui")
    if subprocess.run([str(SYSTEM_PYTHON), "-c", "import onnxruntime"], capture_output=True).returncode == 0:
        pytest.skip("the system Python already has onnxruntime: nothing to offer")
    wheels = wheelhouse_for(tmp_path / "wheels", installer.read_requirements())
    folder = tmp_path / "profile" / "python" / "restore_packages" / "python3.x"
    screenshot = tmp_path / "install_dialog.png"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "RESTORE_", "PIP_"))}
    env.update(PYTHONPATH=str(REPO_ROOT), QT_QPA_PLATFORM="offscreen", RESTORE_PACKAGES_DIR=str(folder),
               PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheels), PYTHONNOUSERSITE="1",
               QGIS_CUSTOM_CONFIG_PATH=str(tmp_path / "qgis"))
    proc = subprocess.run([str(SYSTEM_PYTHON), "-c", SCRIPT, str(screenshot)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(lines[-1][len("RESULT "):])
    assert "onnxruntime" in result["missing_before"]
    assert result["menus"] == ["Raster Restoration > Install Python dependencies…"]
    assert result["bar_items"] == 1 and "onnxruntime" in result["bar_text"]
    assert "ONNX Runtime: onnxruntime" in result["plan"] and str(folder) in result["plan"]
    assert "Successfully installed" in result["log"] and "--no-deps --target" in result["log"]
    assert result["progress"] == 100
    assert result["summary"].startswith("Installed and loaded without a restart: onnxruntime 1.23.2")
    assert result["missing_after"] == [] and result["sys_path_0"] == str(folder)
    assert result["onnxruntime"] == f"1.23.2 at {folder / 'onnxruntime' / '__init__.py'}"
    assert result["bar_after"].startswith("Installed and loaded")
    assert screenshot.stat().st_size > 1000
    if os.environ.get("RESTORE_SAVE_SCREENSHOTS"):  # refresh the README's picture
        target = REPO_ROOT / "docs" / "images" / "install_dialog.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(screenshot.read_bytes())
