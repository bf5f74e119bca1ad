"""MODEL's picker: the choices and cards (no widgets), the parameter still a string, and the widget
itself in the standard, batch and modeler dialogs under an offscreen GUI QGIS (a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

qgis_core = pytest.importorskip("qgis.core", reason="QGIS Python bindings (python3-qgis) not installed")
pytestmark = pytest.mark.qgis


def test_choices_list_installed_models_with_version_bands_and_the_default(models_dir):
    from qgis_restore_plugin import help_text, model_picker

    help_text.refresh()
    choices = model_picker.model_choices("dehaze")
    assert choices[0].value == "" and choices[0].label.startswith("Default (")
    by_value = {c.value: c for c in choices}
    assert "test-dehaze" in by_value
    test = by_value["test-dehaze"]
    assert "red, green, blue" in test.label and "Bands: red, green, blue" in test.card
    assert str(models_dir / "test-dehaze.onnx") in test.card
    assert sum("[default]" in c.label for c in choices) == 1
    decloud = {c.value: c for c in model_picker.model_choices("decloud")}["test-decloud"]
    assert "sar:" in decloud.label  # the SAR input's bands are named too


def test_model_stays_a_string_parameter_with_the_picker_widget(qgis_app):
    alg = qgis_core.QgsApplication.processingRegistry().algorithmById("restore:dehaze")
    param = alg.parameterDefinition("MODEL")
    assert param.type() == "string"  # MODEL=<name> keeps working in qgis_process and .model3 files
    wrapper = param.metadata()["widget_wrapper"]
    assert wrapper == {"class": "qgis_restore_plugin.model_picker.ModelWidgetWrapper", "task": "dehaze"}


SCRIPT = r'''
import json, os, sys
from qgis.core import QgsApplication, QgsProcessingModelChildParameterSource
app = QgsApplication([], True)
app.initQgis()
from processing.core.Processing import Processing
Processing.initialize()
from qgis_restore_plugin import classFactory
plugin = classFactory(None)
plugin.initProcessing()
from processing.gui.wrappers import WidgetWrapperFactory

param = QgsApplication.processingRegistry().algorithmById("restore:dehaze").parameterDefinition("MODEL")
out = {}

class AlgorithmDialog:  # the names Processing maps to a dialog type
    pass

class BatchAlgorithmDialog:
    pass

class ModelerParametersDialog:
    def getAvailableValuesOfType(self, types, outputs=None):
        return [QgsProcessingModelChildParameterSource.fromModelParameter("dehaze_model")]
    def resolveValueDescription(self, source):
        return "dehaze_model (model input)"

standard = WidgetWrapperFactory.create_wrapper(param, AlgorithmDialog())
out["class"] = type(standard).__name__
combo = standard.combo
out["items"] = [combo.itemText(i) for i in range(combo.count())]
out["default_value"] = standard.value()
standard.setValue("test-dehaze")
out["named_value"] = standard.value()
out["card"] = standard.card.text()
standard.setValue("/data/my-dehazer.onnx")
out["file_value"] = standard.value()
out["file_card"] = standard.card.text()
standard.widget.resize(700, 200)
standard.widget.grab().save(sys.argv[1])

batch = WidgetWrapperFactory.create_wrapper(param, BatchAlgorithmDialog())
batch.setValue("test-dehaze")
out["batch_value"] = batch.value()

modeler = WidgetWrapperFactory.create_wrapper(param, ModelerParametersDialog())
items = [modeler.combo.itemText(i) for i in range(modeler.combo.count())]
out["modeler_items"] = items
modeler.combo.setCurrentIndex(0)
value = modeler.value()
out["modeler_source"] = value.parameterName() if hasattr(value, "parameterName") else repr(value)
modeler.setValue("test-dehaze")
out["modeler_static"] = modeler.value()
print("RESULT " + json.dumps(out))
'''


def test_the_picker_widget_in_the_standard_batch_and_modeler_dialogs(models_dir, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), "/usr/share/qgis/python/plugins"]),
               RESTORE_MODELS_PATH=str(models_dir), QT_QPA_PLATFORM="offscreen", RESTORE_PACKAGES_DIR="",
               QGIS_CUSTOM_CONFIG_PATH=str(tmp_path / "qgis"))
    shot = tmp_path / "picker.png"
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(shot)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=180)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = json.loads(lines[-1][len("RESULT "):])
    assert out["class"] == "ModelWidgetWrapper"
    assert out["items"][0].startswith("Default (") and out["items"][-1] == "Model file (.onnx)…"
    assert any(item.startswith("test-dehaze ") and "red, green, blue" in item for item in out["items"])
    assert out["default_value"] == ""
    assert out["named_value"] == "test-dehaze" and "<b>test-dehaze</b>" in out["card"]
    assert out["file_value"] == "/data/my-dehazer.onnx" and "my-dehazer.onnx" in out["file_card"]
    assert out["batch_value"] == "test-dehaze"
    assert out["modeler_items"][0] == "dehaze_model (model input)"
    assert out["modeler_source"] == "dehaze_model" and out["modeler_static"] == "test-dehaze"
    assert shot.stat().st_size > 1000
