"""The output layer opens with the input's band choice and its own contrast stretch, renderer band
renumbering, and the first result of the shipped dehazer rendered as an image that is not dark."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import REPO_ROOT
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
        # The stretch is the output's own (cumulative cut 2-98 %), not the input's 0.3-0.6 / 0.1-0.6.
        from osgeo import gdal

        ds = gdal.Open(result["OUTPUT"])  # kept: a band outliving its dataset crashes GDAL
        band3 = ds.GetRasterBand(3).ReadAsArray()
        red = renderer.redContrastEnhancement()
        assert red.minimumValue() == pytest.approx(np.percentile(band3, 2), abs=0.02)
        assert red.maximumValue() == pytest.approx(np.percentile(band3, 98), abs=0.02)
        assert not (tmp_path / "out.tif.aux.xml").exists()
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


def rendered(layer, renderer=None) -> np.ndarray:
    """``layer`` drawn by QGIS's map renderer (128 x 128 RGB), optionally with another renderer."""
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QImage

    if renderer is not None:
        layer = layer.clone()
        layer.setRenderer(renderer)
    settings = qgis_core.QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(layer.crs())
    settings.setExtent(layer.extent())
    settings.setOutputSize(QSize(128, 128))
    job = qgis_core.QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage().convertToFormat(QImage.Format_RGB32)
    bits = image.constBits()
    bits.setsize(image.sizeInBytes() if hasattr(image, "sizeInBytes") else image.byteCount())
    return np.frombuffer(bits, np.uint8).reshape(image.height(), image.width(), 4)[..., :3].astype(float)


SAMPLE = REPO_ROOT / "resources" / "samples" / "sentinel2_hazy_rgb.tif"
SHIPPED = REPO_ROOT / "resources" / "models" / "dehaze-hsmr-lite.onnx"


@pytest.mark.skipif(not (SAMPLE.is_file() and SHIPPED.is_file()), reason="shipped sample or model missing")
def test_first_dehazed_result_is_not_almost_black(qgis_app, tmp_path):
    """The issue's first impression: the input's stretch on dehazed values (which sit lower) drew an
    almost black image. With its own stretch the result is as bright as the input on screen."""
    import processing
    from osgeo import gdal

    crop = tmp_path / "hazy.tif"
    gdal.Translate(str(crop), str(SAMPLE), srcWin=[256, 256, 256, 256])
    project = qgis_core.QgsProject.instance()
    layer = qgis_core.QgsRasterLayer(str(crop), "hazy", "gdal")
    assert layer.isValid()
    project.addMapLayer(layer)
    try:
        params = {"INPUT": layer.id(), "MODEL": "dehaze-hsmr-lite", "OUTPUT": str(tmp_path / "clear.tif")}
        result = processing.runAndLoadResults("restore:dehaze", params)
        loaded = next(lyr for lyr in project.mapLayers().values() if lyr.source() == result["OUTPUT"])
        assert loaded.renderer().type() == "multibandcolor"  # RGB, from the kept colour interpretation
        own = rendered(loaded)
        with_input_stretch = rendered(loaded, layer.renderer().clone())
        before = rendered(layer)
        assert with_input_stretch.mean() < 0.8 * before.mean()  # the old behaviour: darker than the input
        assert own.mean() > 0.8 * before.mean() and own.mean() > 60  # not almost black
        assert own.std() > 0.8 * before.std()  # and not washed out: the contrast is there
    finally:
        project.removeAllMapLayers()
