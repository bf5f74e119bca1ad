"""The output layer opens with the input's band rendering (item 5), and renderer band renumbering."""

from __future__ import annotations

import pytest

from tests.plugin.conftest import make_scene

qgis_core = pytest.importorskip("qgis.core", reason="QGIS Python bindings (python3-qgis) not installed")
pytestmark = pytest.mark.qgis


def styled_layer(path, name="scene"):
    layer = qgis_core.QgsRasterLayer(str(path), name, "gdal")
    assert layer.isValid()
    renderer = qgis_core.QgsMultiBandColorRenderer(layer.dataProvider(), 3, 2, 1)  # false-colour order
    for band, setter in ((3, renderer.setRedContrastEnhancement), (2, renderer.setGreenContrastEnhancement),
                         (1, renderer.setBlueContrastEnhancement)):
        enhancement = qgis_core.QgsContrastEnhancement(layer.dataProvider().dataType(band))
        enhancement.setMinimumValue(0.1 * band)
        enhancement.setMaximumValue(0.5 + 0.1 * band)
        enhancement.setContrastEnhancementAlgorithm(qgis_core.QgsContrastEnhancement.StretchToMinimumMaximum)
        setter(enhancement)
    layer.setRenderer(renderer)
    return layer


def test_output_loaded_in_project_gets_the_input_rendering(qgis_app, models_dir, tmp_path):
    import processing

    project = qgis_core.QgsProject.instance()
    layer = styled_layer(make_scene(tmp_path / "scene.tif", bands=3))
    project.addMapLayer(layer)
    try:
        params = {"INPUT": layer.id(), "MODEL": "test-dehaze", "OUTPUT": str(tmp_path / "out.tif")}
        result = processing.runAndLoadResults("restore:dehaze", params)
        loaded = [lyr for lyr in project.mapLayers().values() if lyr.source() == result["OUTPUT"]]
        assert len(loaded) == 1
        renderer = loaded[0].renderer()
        assert isinstance(renderer, qgis_core.QgsMultiBandColorRenderer)
        assert (renderer.redBand(), renderer.greenBand(), renderer.blueBand()) == (3, 2, 1)
        assert renderer.redContrastEnhancement().minimumValue() == pytest.approx(0.3)
        assert renderer.blueContrastEnhancement().maximumValue() == pytest.approx(0.6)
    finally:
        project.removeAllMapLayers()


def test_renderer_bands_follow_the_bands_parameter(qgis_app, tmp_path):
    from qgis_restore_plugin.styling import renumbered_renderer

    layer = styled_layer(make_scene(tmp_path / "scene.tif", bands=4))
    renumbered = renumbered_renderer(layer.renderer(), [3, 2, 1])  # output band 1 = input band 3, ...
    assert (renumbered.redBand(), renumbered.greenBand(), renumbered.blueBand()) == (1, 2, 3)
    assert renumbered.redContrastEnhancement().minimumValue() == pytest.approx(0.3)
    assert renumbered_renderer(layer.renderer(), [1, 2]) is None  # band 3 was not restored
    gray = qgis_core.QgsSingleBandGrayRenderer(layer.dataProvider(), 4)
    assert renumbered_renderer(gray, [4]).grayBand() == 1
    assert renumbered_renderer(gray, None).grayBand() == 4
