"""``processing.run`` of every task with tiny exact models: values, georeferencing, errors, cancel."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from backend.job import RestoreJob
from tests.plugin.conftest import COLS, ROWS, build_models, make_scene

qgis_core = pytest.importorskip("qgis.core", reason="QGIS Python bindings (python3-qgis) not installed")
pytestmark = pytest.mark.qgis


class Feedback(qgis_core.QgsProcessingFeedback):
    """Keeps what the algorithm reports, so tests can read messages and progress."""

    def __init__(self, cancel: bool = False) -> None:
        super().__init__()
        self.infos: list[str] = []
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self.progress: list[float] = []
        self.progressChanged.connect(self.progress.append)
        if cancel:
            self.cancel()

    def pushInfo(self, info: str) -> None:
        self.infos.append(info)

    def reportError(self, error: str, fatalError: bool = False) -> None:
        self.errors.append(error)

    def pushWarning(self, warning: str) -> None:
        self.warnings.append(warning)


def run(alg_id: str, params: dict, feedback: Feedback | None = None) -> tuple[dict | None, Feedback]:
    """Run through ``processing.run``; on failure return ``None`` and the feedback with the message."""
    import processing

    feedback = feedback or Feedback()
    try:
        return processing.run(alg_id, params, feedback=feedback), feedback
    except qgis_core.QgsProcessingException as exc:  # processing.run re-raises the algorithm's error
        feedback.errors.append(str(exc))
        return None, feedback


def read(path) -> tuple[np.ndarray, tuple, str]:
    from osgeo import gdal

    ds = gdal.Open(str(path))
    array = ds.ReadAsArray().reshape(ds.RasterCount, ds.RasterYSize, ds.RasterXSize)
    return array, ds.GetGeoTransform(), ds.GetProjection()


def assert_same_grid(output, reference) -> None:
    out, out_gt, out_srs = read(output)
    ref, ref_gt, ref_srs = read(reference)
    assert out.shape[1:] == ref.shape[1:] == (ROWS, COLS)
    assert out_gt == pytest.approx(ref_gt)
    from osgeo import osr

    assert osr.SpatialReference(out_srs).IsSame(osr.SpatialReference(ref_srs))


@pytest.fixture()
def scene(tmp_path):
    return make_scene(tmp_path / "scene.tif")


def test_parameters_map_to_one_backend_call(qgis_app, scene, tmp_path):
    from tests.support.rasters import make_raster

    infrared = make_raster(tmp_path / "ir.tif", np.zeros((1, ROWS, COLS), np.float32))
    alg = qgis_core.QgsApplication.processingRegistry().createAlgorithmById("restore:derain_fuse")
    context = qgis_core.QgsProcessingContext()
    params = {"VISIBLE": str(scene), "INFRARED": str(infrared), "BANDS": [3, 1], "MODEL": " my-model ",
              "DEVICE": 2, "TILE_SIZE": 128, "OVERLAP": 0, "OUTPUT": str(tmp_path / "out.tif")}
    job = alg.build_job(params, context)
    assert job.task == "derain_fuse"
    assert job.inputs == {"optical": str(scene), "infrared": str(infrared)}
    assert job.output == str(tmp_path / "out.tif")
    assert (job.model, job.device, job.tile_size, job.overlap, job.batch_size, job.bands) == (
        "my-model", "cuda", 128, 0, None, (3, 1))
    defaults = alg.build_job({"VISIBLE": str(scene), "INFRARED": str(infrared), "OUTPUT": "x.tif"}, context)
    assert defaults == RestoreJob("derain_fuse", defaults.inputs, "x.tif")  # every option at its default
    large = alg.build_job({"VISIBLE": str(scene), "INFRARED": str(infrared), "ALLOW_LARGE": True,
                           "OUTPUT": "x.tif"}, context)
    assert large.allow_large is True


def test_dehaze_runs_the_model_and_keeps_the_grid(qgis_app, models_dir, scene, tmp_path):
    out = tmp_path / "dehazed.tif"
    result, fb = run("restore:dehaze", {"INPUT": str(scene), "MODEL": "test-dehaze", "DEVICE": 1,
                                        "OUTPUT": str(out)})
    assert result is not None, fb.errors
    assert result["OUTPUT"] == str(out)
    assert_same_grid(out, scene)
    np.testing.assert_allclose(read(out)[0], read(scene)[0], atol=1e-6)  # identity model
    log = "\n".join(fb.infos)
    assert "test-dehaze" in log and "CPUExecutionProvider" in log and "Timings:" in log
    assert fb.progress and max(fb.progress) == pytest.approx(100.0)


def test_desand_tiles_with_the_advanced_parameters(qgis_app, models_dir, scene, tmp_path):
    out = tmp_path / "desanded.tif"
    params = {"INPUT": str(scene), "MODEL": "test-desand", "TILE_SIZE": 16, "OVERLAP": 4, "BATCH_SIZE": 2,
              "OUTPUT": str(out)}
    result, fb = run("restore:desand", params)
    assert result is not None, fb.errors
    assert_same_grid(out, scene)
    restored = read(out)[0]
    assert np.isfinite(restored).all() and not np.allclose(restored, read(scene)[0])
    # same result as with the model's default tiling: the tile parameters only change the schedule
    default_out = tmp_path / "desanded_default.tif"
    assert run("restore:desand", {"INPUT": str(scene), "MODEL": "test-desand",
                                  "OUTPUT": str(default_out)})[0] is not None
    np.testing.assert_allclose(restored, read(default_out)[0], atol=1e-4)


def test_strength_blends_the_result_with_the_input(qgis_app, models_dir, scene, tmp_path):
    alg = qgis_core.QgsApplication.processingRegistry().createAlgorithmById("restore:dehaze")
    context = qgis_core.QgsProcessingContext()
    job = alg.build_job({"INPUT": str(scene), "STRENGTH": 0.25, "OUTPUT": "x.tif"}, context)
    assert job.strength == 0.25
    outputs = {}
    for strength in (0.0, 0.5, 1.0):
        outputs[strength] = tmp_path / f"desanded_{strength}.tif"
        result, fb = run("restore:desand", {"INPUT": str(scene), "STRENGTH": strength,
                                            "OUTPUT": str(outputs[strength])})
        assert result is not None, fb.errors
    none, half, full = (read(outputs[s])[0].astype(np.float64) for s in (0.0, 0.5, 1.0))
    np.testing.assert_allclose(none, read(scene)[0], atol=1e-5)  # strength 0: the input itself
    assert not np.allclose(full, none)
    np.testing.assert_allclose(half, (none + full) / 2, atol=1e-4)


def test_black_level_reaches_the_backend_for_dehaze_only(qgis_app, models_dir, scene):
    registry = qgis_core.QgsApplication.processingRegistry()
    dehaze = registry.createAlgorithmById("restore:dehaze")
    context = qgis_core.QgsProcessingContext()
    job = dehaze.build_job({"INPUT": str(scene), "BLACK_LEVEL": 5000, "OUTPUT": "x.tif"}, context)
    assert job.black_level == 5000
    assert dehaze.build_job({"INPUT": str(scene), "OUTPUT": "x.tif"}, context).black_level == 0
    desand = registry.createAlgorithmById("restore:desand")
    assert desand.parameterDefinition("BLACK_LEVEL") is None
    assert desand.build_job({"INPUT": str(scene), "BLACK_LEVEL": 5000, "OUTPUT": "x.tif"},
                            context).black_level == 0  # no BLACK_LEVEL parameter: the job's default


def test_bands_selects_and_orders_the_input_bands(qgis_app, models_dir, tmp_path):
    scene = make_scene(tmp_path / "four.tif", bands=4)
    out = tmp_path / "bgr.tif"
    result, fb = run("restore:dehaze", {"INPUT": str(scene), "BANDS": [3, 2, 1], "MODEL": "test-dehaze",
                                        "OUTPUT": str(out)})
    assert result is not None, fb.errors
    np.testing.assert_allclose(read(out)[0], read(scene)[0][[2, 1, 0]], atol=1e-6)


def test_decloud_uses_the_optional_sar_layer(qgis_app, models_dir, scene, tmp_path):
    from tests.support.rasters import make_raster

    sar = make_raster(tmp_path / "sar.tif", np.full((2, ROWS, COLS), 0.4, np.float32))
    with_sar, without_sar = tmp_path / "with.tif", tmp_path / "without.tif"
    model = {"MODEL": "test-decloud"}  # the test model, not the shipped default
    params = {"INPUT": str(scene), "SAR": str(sar), "OUTPUT": str(with_sar), **model}
    result, fb = run("restore:decloud", params)
    assert result is not None, fb.errors
    result, fb = run("restore:decloud", {"INPUT": str(scene), "OUTPUT": str(without_sar), **model})
    assert result is not None, fb.errors
    optical = read(scene)[0]
    np.testing.assert_allclose(read(with_sar)[0], optical + 0.25 * 0.4, atol=1e-5)
    np.testing.assert_allclose(read(without_sar)[0], optical, atol=1e-5)


def test_derain_fuse_takes_visible_and_infrared(qgis_app, models_dir, scene, tmp_path):
    from tests.support.rasters import make_raster

    infrared = make_raster(tmp_path / "ir.tif", np.full((1, ROWS, COLS), 0.8, np.float32))
    out = tmp_path / "fused.tif"
    result, fb = run("restore:derain_fuse", {"VISIBLE": str(scene), "INFRARED": str(infrared),
                                             "MODEL": "test-derain-fuse", "OUTPUT": str(out)})
    assert result is not None, fb.errors
    assert_same_grid(out, scene)
    np.testing.assert_allclose(read(out)[0], (read(scene)[0] + 0.8) / 2, atol=1e-5)


def test_derain_fuse_runs_its_two_stages_and_keeps_the_derained_image(qgis_app, scene, tmp_path,
                                                                      monkeypatch):
    from qgis_restore_plugin import _backend
    from tests.support import tiny_models
    from tests.support.rasters import make_raster

    registry = _backend.module("registry")
    folder = tmp_path / "models"
    folder.mkdir()
    tiny_models.derain_stage_model(folder / "derain.onnx", name="stage-derain")
    tiny_models.fuse_model(folder / "fuse.onnx", name="stage-fuse", stage="fuse")
    (folder / "index.json").write_text(json.dumps({"models": [
        {"file": "derain.onnx", "task": "derain_fuse", "name": "stage-derain", "default": True},
        {"file": "fuse.onnx", "task": "derain_fuse", "name": "stage-fuse", "default": True}]}))
    monkeypatch.setenv("RESTORE_MODELS_PATH", str(folder))
    monkeypatch.setattr(registry, "shipped_models_dir", lambda: tmp_path / "none")
    monkeypatch.setattr(registry, "user_models_dir", lambda: tmp_path / "none")
    infrared = make_raster(tmp_path / "ir.tif", np.full((1, ROWS, COLS), 0.8, np.float32))
    out, derained = tmp_path / "fused.tif", tmp_path / "derained.tif"
    result, fb = run("restore:derain_fuse", {"VISIBLE": str(scene), "INFRARED": str(infrared),
                                             "OUTPUT": str(out), "DERAINED": str(derained)})
    assert result is not None, fb.errors
    assert result["DERAINED"] == str(derained)
    visible = read(scene)[0]
    np.testing.assert_allclose(read(derained)[0], visible * 0.5, atol=1e-5)
    np.testing.assert_allclose(read(out)[0], (visible * 0.5 + 0.8) / 2, atol=1e-5)
    assert_same_grid(out, scene)
    assert not list(tmp_path.glob(".*.tif"))  # the temporary stage raster is gone


def test_fill_gaps_fills_nodata_and_writes_the_mask(qgis_app, models_dir, tmp_path):
    from tests.support.rasters import make_raster

    array = np.random.default_rng(1).random((3, ROWS, COLS)).astype(np.float32)
    gaps = np.zeros((ROWS, COLS), bool)
    gaps[:, 10:13] = True  # a scan-line gap in every band
    array[:, gaps] = -999
    scene = make_raster(tmp_path / "gappy.tif", array, nodata=-999)
    out, mask_out = tmp_path / "filled.tif", tmp_path / "filled_mask.tif"
    result, fb = run("restore:fill_gaps", {"INPUT": str(scene), "MODEL": "test-fill-gaps", "OUTPUT": str(out),
                                           "MASK_OUTPUT": str(mask_out)})
    assert result is not None, fb.errors
    assert result["MASK_OUTPUT"] == str(mask_out)
    assert_same_grid(out, scene)
    filled = read(out)[0]
    np.testing.assert_allclose(filled[:, gaps], 0.5, atol=1e-5)  # the test model fills with 0.5
    np.testing.assert_allclose(filled[:, ~gaps], array[:, ~gaps], atol=1e-5)
    mask = read(mask_out)[0][0]
    assert_same_grid(mask_out, scene)
    assert ((mask > 0) == gaps).all()


def test_fill_gaps_takes_an_explicit_mask_layer(qgis_app, models_dir, scene, tmp_path):
    from tests.support.rasters import make_raster

    gaps = np.zeros((ROWS, COLS), np.uint8)
    gaps[5:9, :] = 1
    mask = make_raster(tmp_path / "mask.tif", gaps[None])
    out = tmp_path / "filled.tif"
    result, fb = run("restore:fill_gaps", {"INPUT": str(scene), "MASK": str(mask), "MODEL": "test-fill-gaps",
                                           "OUTPUT": str(out), "MASK_OUTPUT": "TEMPORARY_OUTPUT"})
    assert result is not None, fb.errors
    filled, optical = read(out)[0], read(scene)[0]
    np.testing.assert_allclose(filled[:, 5:9, :], 0.5, atol=1e-5)
    np.testing.assert_allclose(filled[:, 9:, :], optical[:, 9:, :], atol=1e-5)


def test_fill_gaps_takes_a_reference_on_another_grid(qgis_app, models_dir, tmp_path):
    from tests.support import tiny_models
    from tests.support.rasters import DEFAULT_GEOTRANSFORM, make_raster

    model = tiny_models.reference_fill_model(tmp_path / "ref.onnx")
    array = np.random.default_rng(2).random((3, ROWS, COLS)).astype(np.float32) + 1.0
    array[:, 4:6, :] = -999
    scene = make_raster(tmp_path / "gappy.tif", array, nodata=-999)
    x0, _, _, y0, _, _ = DEFAULT_GEOTRANSFORM  # the same area at half the pixel size
    other = make_raster(tmp_path / "other_date.tif", np.full((3, 2 * ROWS, 2 * COLS), 7.0, np.float32),
                        geotransform=(x0, 5.0, 0.0, y0, 0.0, -5.0))
    out = tmp_path / "filled.tif"
    result, fb = run("restore:fill_gaps", {"INPUT": str(scene), "REFERENCE": str(other), "MODEL": str(model),
                                           "OUTPUT": str(out), "MASK_OUTPUT": "TEMPORARY_OUTPUT"})
    assert result is not None, fb.errors
    assert_same_grid(out, scene)
    filled = read(out)[0]
    np.testing.assert_allclose(filled[:, 4:6], 7.0, atol=1e-5)  # taken from the other date
    np.testing.assert_allclose(filled[:, 6:], array[:, 6:], atol=1e-5)
    result, fb = run("restore:fill_gaps", {"INPUT": str(scene), "REFERENCE": str(other), "MODEL": str(model),
                                           "RESAMPLE": False, "OUTPUT": str(tmp_path / "no.tif")})
    assert result is None and any("pixel grid" in e for e in fb.errors), fb.errors


def test_unknown_model_name_fails_naming_it(qgis_app, models_dir, scene, tmp_path):
    out = tmp_path / "x.tif"
    result, fb = run("restore:dehaze", {"INPUT": str(scene), "MODEL": "no-such-model", "OUTPUT": str(out)})
    assert result is None
    assert any("no-such-model" in e for e in fb.errors), fb.errors
    assert not any("Traceback" in e for e in fb.errors)
    assert not out.exists()


def test_task_without_model_fails_then_works_once_one_is_installed(qgis_app, scene, tmp_path, monkeypatch):
    from qgis_restore_plugin import _backend

    registry = _backend.module("registry")
    empty = tmp_path / "models"
    empty.mkdir()
    monkeypatch.setenv("RESTORE_MODELS_PATH", str(empty))
    monkeypatch.setattr(registry, "shipped_models_dir", lambda: empty)
    monkeypatch.setattr(registry, "user_models_dir", lambda: empty)
    out = tmp_path / "desanded.tif"
    result, fb = run("restore:desand", {"INPUT": str(scene), "OUTPUT": str(out)})
    assert result is None
    assert any("no model is installed for task 'desand'" in e for e in fb.errors), fb.errors
    build_models(empty, ("desand",))  # install a model: the same algorithm instance now works
    result, fb = run("restore:desand", {"INPUT": str(scene), "OUTPUT": str(out)})
    assert result is not None, fb.errors
    assert out.is_file()


def test_cancel_stops_the_run_without_leaving_an_output(qgis_app, models_dir, scene, tmp_path):
    out = tmp_path / "cancelled.tif"
    params = {"INPUT": str(scene), "MODEL": "test-dehaze", "OUTPUT": str(out)}
    result, fb = run("restore:dehaze", params, Feedback(cancel=True))
    assert result is None
    assert any("cancel" in e.lower() for e in fb.errors), fb.errors
    assert not out.exists()


def test_missing_onnxruntime_fails_with_install_instructions(qgis_app, models_dir, scene, tmp_path,
                                                             monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` now raises ImportError
    result, fb = run("restore:dehaze", {"INPUT": str(scene), "MODEL": "test-dehaze",
                                        "OUTPUT": str(tmp_path / "x.tif")})
    assert result is None
    message = "\n".join(fb.errors)
    assert "Missing Python packages: onnxruntime" in message, message
    warning = "\n".join(fb.warnings)  # the instructions once, as a warning before the error
    assert "installer.py" in warning and "Install button" in warning, warning


def test_a_run_writes_no_statistics_sidecar_next_to_the_input(qgis_app, models_dir, tmp_path):
    """QGIS computes a histogram for the default renderer of a layer it loads from a path; with GDAL's
    PAM on it would be saved as INPUT.aux.xml beside the user's data (issue 24, item 8)."""
    import gc

    scene = make_scene(tmp_path / "fresh.tif", dtype="uint16", nodata=0)
    result, fb = run("restore:dehaze", {"INPUT": str(scene), "MODEL": "test-dehaze", "DEVICE": 1,
                                        "OUTPUT": str(tmp_path / "out.tif")})
    assert result is not None, fb.errors
    gc.collect()  # the layer store of processing.run's context closes the dataset
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.tif", "out.tif"]


def test_output_keeps_the_inputs_colour_interpretation_and_band_descriptions(qgis_app, models_dir, tmp_path):
    from osgeo import gdal

    scene = make_scene(tmp_path / "rgb.tif")
    ds = gdal.Open(str(scene), gdal.GA_Update)
    for b, (interp, name) in enumerate(((gdal.GCI_RedBand, "B4 red"), (gdal.GCI_GreenBand, "B3 green"),
                                        (gdal.GCI_BlueBand, "B2 blue")), start=1):
        ds.GetRasterBand(b).SetColorInterpretation(interp)
        ds.GetRasterBand(b).SetDescription(name)
    ds = None
    out = tmp_path / "out.tif"
    result, fb = run("restore:dehaze", {"INPUT": str(scene), "MODEL": "test-dehaze", "OUTPUT": str(out)})
    assert result is not None, fb.errors
    ds = gdal.Open(str(out))
    assert [ds.GetRasterBand(b).GetColorInterpretation() for b in (1, 2, 3)] == [
        gdal.GCI_RedBand, gdal.GCI_GreenBand, gdal.GCI_BlueBand]
    assert [ds.GetRasterBand(b).GetDescription() for b in (1, 2, 3)] == ["B4 red", "B3 green", "B2 blue"]
    assert any(key.startswith("RESTORE_") for key in ds.GetMetadata())  # the run's metadata is kept
    assert not (tmp_path / "out.tif.aux.xml").exists()  # written into the GeoTIFF itself
    swapped = tmp_path / "swapped.tif"  # BANDS=3,2,1: output band 1 is input band 3 (blue)
    result, fb = run("restore:dehaze", {"INPUT": str(scene), "MODEL": "test-dehaze", "BANDS": [3, 2, 1],
                                        "OUTPUT": str(swapped)})
    assert result is not None, fb.errors
    ds = gdal.Open(str(swapped))
    assert ds.GetRasterBand(1).GetColorInterpretation() == gdal.GCI_BlueBand
    assert ds.GetRasterBand(1).GetDescription() == "B2 blue"
    plain = make_scene(tmp_path / "plain.tif")  # no colour meaning: the model's red, green, blue names
    result, fb = run("restore:dehaze", {"INPUT": str(plain), "MODEL": "test-dehaze",
                                        "OUTPUT": str(tmp_path / "plain_out.tif")})
    assert result is not None, fb.errors
    ds = gdal.Open(str(tmp_path / "plain_out.tif"))
    assert [ds.GetRasterBand(b).GetDescription() for b in (1, 2, 3)] == ["red", "green", "blue"]
    assert [ds.GetRasterBand(b).GetColorInterpretation() for b in (1, 2, 3)] == [
        gdal.GCI_RedBand, gdal.GCI_GreenBand, gdal.GCI_BlueBand]


def test_an_extent_in_another_crs_restores_only_that_area(qgis_app, models_dir, scene, tmp_path):
    """EXTENT is taken in the input's CRS whatever CRS it was drawn in; the output covers it."""
    from osgeo import osr

    _, gt, wkt = read(scene)
    utm, geo = osr.SpatialReference(wkt=wkt), osr.SpatialReference()
    geo.ImportFromEPSG(4326)
    for srs in (utm, geo):
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    to_geo = osr.CoordinateTransformation(utm, geo)
    # Pixels 4..12 x 3..9 (centres), as a lon/lat rectangle slightly inside their outer edges.
    x0, x1 = gt[0] + 4.2 * gt[1], gt[0] + 11.8 * gt[1]
    y0, y1 = gt[3] + 8.8 * gt[5], gt[3] + 3.2 * gt[5]
    lon0, lat0, _ = to_geo.TransformPoint(x0, y0)
    lon1, lat1, _ = to_geo.TransformPoint(x1, y1)
    out = tmp_path / "part.tif"
    extent = f"{lon0},{lon1},{lat0},{lat1} [EPSG:4326]"
    params = {"INPUT": str(scene), "MODEL": "test-dehaze"}  # identity: output = input
    result, fb = run("restore:dehaze", {**params, "EXTENT": extent, "OUTPUT": str(out)})
    assert result is not None, fb.errors
    data, out_gt, _ = read(out)
    # The lon/lat rectangle's bounding box in UTM reaches a little further than the UTM rectangle.
    assert 8 <= data.shape[2] <= 10 and 6 <= data.shape[1] <= 8
    col0 = round((out_gt[0] - gt[0]) / gt[1])
    row0 = round((out_gt[3] - gt[3]) / gt[5])
    assert col0 in (3, 4) and row0 in (2, 3)
    window = read(scene)[0][:, row0 : row0 + data.shape[1], col0 : col0 + data.shape[2]]
    np.testing.assert_allclose(data, window, atol=1e-6)


def test_a_polygon_layer_restores_only_inside_it(qgis_app, models_dir, tmp_path):
    """MASK_LAYER: the output covers the polygon's box; outside the polygon it keeps the input."""
    from tests.support.rasters import make_raster

    data = np.full((3, ROWS, COLS), 0.2, np.float32)
    src = make_raster(tmp_path / "in.tif", data)
    _, gt, _ = read(src)
    # A triangle drawn in lon/lat, as a memory layer of the project (the usual hand-drawn area).
    from osgeo import osr

    utm, geo = osr.SpatialReference(), osr.SpatialReference()
    utm.ImportFromEPSG(32618)
    geo.ImportFromEPSG(4326)
    for srs in (utm, geo):
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    to_geo = osr.CoordinateTransformation(utm, geo)
    pixels = ((10, 5), (30, 5), (10, 25))
    corners = [to_geo.TransformPoint(gt[0] + c * gt[1], gt[3] + r * gt[5])[:2] for c, r in pixels]
    layer = qgis_core.QgsVectorLayer("Polygon?crs=EPSG:4326", "aoi", "memory")
    feature = qgis_core.QgsFeature()
    ring = [qgis_core.QgsPointXY(x, y) for x, y in corners]
    feature.setGeometry(qgis_core.QgsGeometry.fromPolygonXY([ring]))
    layer.dataProvider().addFeatures([feature])
    qgis_core.QgsProject.instance().addMapLayer(layer)
    layer = layer.id()
    out = tmp_path / "part.tif"
    result, fb = run("restore:desand", {"INPUT": str(src), "MODEL": "test-desand", "MASK_LAYER": layer,
                                        "OUTPUT": str(out)})  # fmt: skip
    assert result is not None, fb.errors
    got, out_gt, _ = read(out)
    qgis_core.QgsProject.instance().removeMapLayer(layer)
    assert got.shape[1] in (20, 21) and got.shape[2] in (20, 21)
    assert out_gt[0] == pytest.approx(gt[0] + 10 * gt[1]) or out_gt[0] == pytest.approx(gt[0] + 9 * gt[1])
    assert (got[:, 15:, 15:] == np.float32(0.2)).all()  # below the hypotenuse: the input, unchanged
    assert np.abs(got[:, 2:6, 2:6] - 0.2).max() > 1e-3  # inside: the test model's convolution
