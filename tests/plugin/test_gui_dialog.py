"""The dehaze dialog as a user runs it: a real QGIS GUI application (offscreen), the Processing
dialog of ``restore:dehaze`` on the shipped sample with an EXTENT, its Run button's code path, the
result loaded into the project with its own stretch, and screenshots of the dialog and the map.

It runs in a subprocess (a GUI ``QgsApplication`` cannot share a process with the tests' headless
one). ``RESTORE_SAVE_SCREENSHOTS=1`` copies the pictures to ``docs/images/`` for the README
(``make gui-check``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

SAMPLE = REPO_ROOT / "resources" / "samples" / "sentinel2_hazy_rgb.tif"

SCRIPT = r'''
import json, os, sys, time
from pathlib import Path
sys.path.insert(0, "/usr/share/qgis/python/plugins")
from qgis.core import (QgsApplication, QgsMapRendererSequentialJob, QgsMapSettings, QgsProject,
                       QgsRasterLayer)
app = QgsApplication([], True)
app.initQgis()
from qgis.gui import QgsMapCanvas, QgsMessageBar
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor, QImage, QPainter
from qgis.PyQt.QtWidgets import QMainWindow

class Iface:  # what Processing's dialog asks of QGIS's main window
    def __init__(self):
        self.window = QMainWindow()
        self.canvas = QgsMapCanvas(self.window)
        self.bar = QgsMessageBar(self.window)
    def mainWindow(self):
        return self.window
    def mapCanvas(self):
        return self.canvas
    def messageBar(self):
        return self.bar
    def __getattr__(self, name):
        return lambda *args, **kwargs: None

import qgis.utils
qgis.utils.iface = Iface()
from processing.core.Processing import Processing
Processing.initialize()
import processing
from qgis_restore_plugin.provider import RestoreProvider

sample, out_dir = sys.argv[1], Path(sys.argv[2])
provider = RestoreProvider(gui=True)
QgsApplication.processingRegistry().addProvider(provider)
layer = QgsRasterLayer(sample, "sentinel2_hazy_rgb")
QgsProject.instance().addMapLayer(layer)
e = layer.extent()
extent = (e.xMinimum() + 1000, e.xMinimum() + 5000, e.yMinimum() + 2000, e.yMinimum() + 6000)
output = str(out_dir / "dehazed_part.tif")
dialog = processing.createAlgorithmDialog("restore:dehaze", {
    "INPUT": layer.id(), "EXTENT": "%f,%f,%f,%f [EPSG:32618]" % extent, "OUTPUT": output})
dialog.resize(1000, 760)
dialog.show()
app.processEvents()
dialog.grab().save(str(out_dir / "gui_dehaze_dialog.png"))
dialog.runAlgorithm()  # what the Run button calls
began = time.time()
while time.time() - began < 300:
    app.processEvents()
    time.sleep(0.05)
    if os.path.exists(output) and QgsApplication.taskManager().countActiveTasks() == 0 and \
            QgsProject.instance().mapLayersByName("Restored raster"):
        break
for _ in range(20):
    app.processEvents()
    time.sleep(0.05)
dialog.grab().save(str(out_dir / "gui_dehaze_log.png"))
from qgis.PyQt.QtWidgets import QTextEdit
log = dialog.findChildren(QTextEdit)  # the Log tab (and the help panel, a QTextBrowser)
loaded = [l for l in QgsProject.instance().mapLayers().values() if l.id() != layer.id()]
result = {"output_exists": os.path.exists(output), "log": "\n".join(w.toPlainText() for w in log),
          "loaded": [l.name() for l in loaded]}
if loaded:
    out_layer = loaded[0]
    result["extent"] = [out_layer.extent().xMinimum(), out_layer.extent().xMaximum(),
                        out_layer.extent().yMinimum(), out_layer.extent().yMaximum()]
    renderer = out_layer.renderer()
    result["renderer"] = renderer.type()
    red = getattr(renderer, "redContrastEnhancement", lambda: None)()
    result["red_stretch"] = [red.minimumValue(), red.maximumValue()] if red else None
    # The map: the input with the restored extent drawn over it.
    settings = QgsMapSettings()
    settings.setLayers([out_layer, layer])
    settings.setExtent(layer.extent())
    settings.setOutputSize(QSize(640, 640))
    settings.setBackgroundColor(QColor("white"))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    job.renderedImage().save(str(out_dir / "gui_dehaze_map.png"))
print("RESULT " + json.dumps(result))
'''

pytestmark = [pytest.mark.qgis]


def test_the_dehaze_dialog_runs_on_the_sample_with_an_extent(tmp_path):
    if subprocess.run([sys.executable, "-c", "import qgis.gui, processing"], capture_output=True,
                      env={**os.environ, "PYTHONPATH": "/usr/share/qgis/python/plugins"}).returncode:
        pytest.skip("this Python cannot import qgis.gui and Processing")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "QT_QPA_PLATFORM": "offscreen",
           "QGIS_CUSTOM_CONFIG_PATH": str(tmp_path / "qgis")}  # fmt: skip
    env.pop("RESTORE_MODELS_PATH", None)  # the shipped model, as a user has it
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(SAMPLE), str(tmp_path)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(lines[-1][len("RESULT "):])
    assert result["output_exists"], result["log"]
    assert "extent: columns 100..500, rows 168..568" in result["log"]
    assert "Algorithm 'Dehaze' finished" in result["log"]
    assert len(result["loaded"]) == 1
    # The output covers the extent (4 km x 4 km on the 10 m grid) ...
    xmin, xmax, ymin, ymax = result["extent"]
    assert xmax - xmin == pytest.approx(4000.0) and ymax - ymin == pytest.approx(4000.0)
    # ... and is shown with its own stretch, not the hazy input's (whose values sit higher).
    assert result["renderer"] == "multibandcolor" and result["red_stretch"] is not None
    for name in ("gui_dehaze_dialog.png", "gui_dehaze_log.png", "gui_dehaze_map.png"):
        assert (tmp_path / name).stat().st_size > 5000
    if os.environ.get("RESTORE_SAVE_SCREENSHOTS"):
        target = REPO_ROOT / "docs" / "images"
        target.mkdir(parents=True, exist_ok=True)
        for name in ("gui_dehaze_dialog.png", "gui_dehaze_log.png", "gui_dehaze_map.png"):
            shutil.copy(tmp_path / name, target / name)
