"""Provider registration, algorithm ids and every algorithm's parameters, under a real QGIS."""

from __future__ import annotations

import configparser

import pytest

from backend.tasks import TASKS
from tests.conftest import REPO_ROOT

qgis_core = pytest.importorskip("qgis.core", reason="QGIS Python bindings (python3-qgis) not installed")
pytestmark = pytest.mark.qgis

ALGORITHM_IDS = {f"restore:{t}" for t in ("dehaze", "desand", "decloud", "derain_fuse", "fill_gaps")}
ADVANCED = {"TILE_SIZE", "OVERLAP", "BATCH_SIZE"}


def registry():
    return qgis_core.QgsApplication.processingRegistry()


def test_provider_is_registered_with_fixed_id_and_name(qgis_app):
    provider = registry().providerById("restore")
    assert provider is not None
    assert provider.name() == "Raster restoration"
    ids = {alg.id() for alg in provider.algorithms()}
    assert ids == ALGORITHM_IDS | {"restore:diagnostics"}
    assert {f"restore:{t}" for t in TASKS} == ALGORITHM_IDS  # one algorithm per backend task
    assert provider.supportedOutputRasterLayerExtensions() == ["tif"]


@pytest.mark.parametrize("alg_id", sorted(ALGORITHM_IDS))
def test_restoration_algorithm_common_parameters(qgis_app, alg_id):
    alg = registry().algorithmById(alg_id)
    task = TASKS[alg_id.split(":")[1]]
    assert alg.displayName() == task.title
    params = {p.name(): p for p in alg.parameterDefinitions()}
    optical = "VISIBLE" if task.id == "derain_fuse" else "INPUT"
    assert params[optical].type() == "raster" and not params[optical].flags() & params[optical].FlagOptional
    bands = params["BANDS"]
    assert bands.type() == "band" and bands.allowMultiple() and bands.parentLayerParameterName() == optical
    assert bands.flags() & bands.FlagOptional
    assert params["MODEL"].type() == "string" and params["MODEL"].flags() & params["MODEL"].FlagOptional
    assert params["DEVICE"].type() == "enum"
    assert params["DEVICE"].options() == ["auto", "cpu", "cuda", "tensorrt"]
    assert params["DEVICE"].defaultValue() == 0
    for name in ADVANCED:
        assert params[name].type() == "number", name
        assert params[name].flags() & params[name].FlagAdvanced, name
    assert params["TILE_SIZE"].defaultValue() == 0 and params["BATCH_SIZE"].defaultValue() == 0
    assert params["OVERLAP"].defaultValue() == -1
    allow = params["ALLOW_LARGE"]
    assert allow.type() == "boolean" and allow.flags() & allow.FlagAdvanced and allow.defaultValue() is False
    assert params["OUTPUT"].type() == "rasterDestination"
    assert "INPUT" not in params if task.id == "derain_fuse" else "VISIBLE" not in params


def test_task_specific_inputs(qgis_app):
    def params(alg_id):
        return {p.name(): p for p in registry().algorithmById(alg_id).parameterDefinitions()}

    derain = params("restore:derain_fuse")
    assert not derain["INFRARED"].flags() & derain["INFRARED"].FlagOptional
    decloud = params("restore:decloud")
    assert decloud["SAR"].type() == "raster" and decloud["SAR"].flags() & decloud["SAR"].FlagOptional
    fill = params("restore:fill_gaps")
    assert fill["MASK"].type() == "raster" and fill["MASK"].flags() & fill["MASK"].FlagOptional
    assert fill["MASK_OUTPUT"].type() == "rasterDestination"
    outputs = {o.name() for o in registry().algorithmById("restore:fill_gaps").outputDefinitions()}
    assert outputs == {"OUTPUT", "MASK_OUTPUT"}
    for alg_id in ("restore:dehaze", "restore:desand"):
        assert not {"SAR", "MASK", "INFRARED", "MASK_OUTPUT"} & set(params(alg_id))


def test_help_names_the_input_and_the_installed_model_with_its_citation(qgis_app, models_dir):
    for alg_id in sorted(ALGORITHM_IDS):
        text = registry().algorithmById(alg_id).shortHelpString()
        assert "<b>Input.</b>" in text
        assert "test-" in text, f"{alg_id} help does not name its installed model"
    assert "Diagnostics" in registry().algorithmById("restore:diagnostics").displayName()


def test_diagnostics_reports_versions_and_models(qgis_app, models_dir, tmp_path):
    import json

    import processing

    out = tmp_path / "diag.json"
    result = processing.run("restore:diagnostics", {"OUTPUT": str(out)})
    report = json.loads(out.read_text())
    assert report["qgis"] == qgis_core.Qgis.version()
    assert set(report["dependencies"]) >= {"numpy", "onnxruntime"}
    assert "missing_dependencies" not in report
    text = result["REPORT"]
    assert "test-dehaze" in text, "installed models are not listed"
    assert "CPUExecutionProvider" in text


def test_metadata_has_every_key_plugins_qgis_org_requires():
    parser = configparser.ConfigParser()
    parser.read(REPO_ROOT / "metadata.txt", encoding="utf-8")
    general = parser["general"]
    for key in ("name", "qgisMinimumVersion", "description", "about", "version", "author", "email",
                "repository"):
        assert general.get(key, "").strip(), key
    assert general["hasProcessingProvider"] == "yes"
    assert general["qgisMinimumVersion"] == "3.22"
    assert general["supportsQt6"] == "True"
    assert "<" not in general["description"] + general["about"]  # no HTML allowed there
    # the plugin folder sees the same file (a link), so the source tree is a loadable plugin
    assert (REPO_ROOT / "qgis_restore_plugin" / "metadata.txt").read_text() == (
        REPO_ROOT / "metadata.txt"
    ).read_text()



def _toolbox_matches(word: str) -> set[str]:
    """Algorithm ids the Processing Toolbox shows for a search word (the real toolbox filter model)."""
    from qgis.gui import QgsProcessingToolboxProxyModel
    from qgis.PyQt.QtCore import QModelIndex

    model = QgsProcessingToolboxProxyModel(None, registry())
    model.setFilterString(word)
    found: set[str] = set()
    stack = [QModelIndex()]
    while stack:
        parent = stack.pop()
        for row in range(model.rowCount(parent)):
            index = model.index(row, 0, parent)
            alg = model.toolboxModel().algorithmForIndex(model.mapToSource(index))
            if alg is not None:
                found.add(alg.id())
            stack.append(index)
    return found


@pytest.mark.parametrize("word, alg_id", [
    ("fog", "restore:dehaze"), ("haze", "restore:dehaze"), ("Sentinel", "restore:dehaze"),
    ("Landsat", "restore:fill_gaps"), ("clouds", "restore:decloud"), ("stripes", "restore:fill_gaps"),
    ("SLC-off", "restore:fill_gaps"), ("gaps", "restore:fill_gaps"), ("dust", "restore:desand"),
    ("rain", "restore:derain_fuse"), ("infrared", "restore:derain_fuse"),
])
def test_toolbox_search_finds_the_algorithm_by_its_tags(qgis_app, word, alg_id):
    assert alg_id in _toolbox_matches(word)
    assert "restore:dehaze" not in _toolbox_matches("SLC-off")  # the filter really filters


def test_help_links_the_documentation_shipped_with_the_plugin(qgis_app):
    from pathlib import Path
    from urllib.parse import urlparse

    alg = registry().algorithmById("restore:dehaze")
    assert "MODELS.md</a>" in alg.shortHelpString()
    url = alg.helpUrl()
    assert url.startswith("file://") and Path(urlparse(url).path).is_file()
