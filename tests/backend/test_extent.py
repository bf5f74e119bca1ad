"""A processing extent: only the pixels it touches are restored, with the whole raster's statistics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal

from backend.errors import InvalidOptionError
from backend.extent import Extent, Window, pixel_window
from backend.model_card import Normalization
from backend.pipeline import RestoreJob, restore
from tests.support import tiny_models
from tests.support.rasters import DEFAULT_GEOTRANSFORM, make_raster, read_raster

GT = (500000.0, 10.0, 0.0, 4000000.0, 0.0, -10.0)
PERCENTILE = Normalization(mode="percentile", low=1.0, high=99.0)


def test_an_extent_is_parsed_and_checked() -> None:
    assert Extent.parse("1, 2, 3, 4") == Extent(1.0, 2.0, 3.0, 4.0)
    assert Extent.parse("1,2,3,4,EPSG:4326").crs == "EPSG:4326"
    for bad in ("1,2,3", "a,2,3,4", "3,2,1,4", "1,4,3,2", "1,2,nan,4"):
        with pytest.raises(InvalidOptionError) as info:
            Extent.parse(bad)
        assert info.value.options == ("extent",)
    assert RestoreJob("dehaze", {"optical": "a.tif"}, "b.tif", extent="0,0,1,1").extent == Extent(0, 0, 1, 1)


def test_the_window_takes_every_pixel_the_extent_touches() -> None:
    # x 500105..500305 -> columns 10.5..30.5; y 3999705..3999500 -> rows 29.5..50.
    window = pixel_window(Extent(500105.0, 3999500.0, 500305.0, 3999705.0), 100, 80, GT, "")
    assert window == Window(10, 29, 21, 21)
    # Edges on pixel boundaries take no extra pixel; an extent past the raster is clipped to it.
    on_edges = Extent(500100.0, 3999500.0, 500300.0, 3999700.0)
    assert pixel_window(on_edges, 100, 80, GT, "") == Window(10, 30, 20, 20)
    past = Extent(499000.0, 3990000.0, 500050.0, 4001000.0)
    assert pixel_window(past, 100, 80, GT, "") == Window(0, 0, 5, 80)
    with pytest.raises(InvalidOptionError, match="does not overlap"):
        pixel_window(Extent(0.0, 0.0, 10.0, 10.0), 100, 80, GT, "")


def test_an_extent_in_another_crs_is_transformed(tmp_path: Path) -> None:
    path = make_raster(tmp_path / "utm.tif", np.zeros((1, 80, 100), np.float32), geotransform=GT)
    wkt = gdal.Open(str(path)).GetProjection()
    # The raster's centre pixel (UTM 18N, x 500500, y 3999600) is near 75.0 W, 36.14 N.
    from osgeo import osr

    utm, geo = osr.SpatialReference(wkt=wkt), osr.SpatialReference()
    geo.ImportFromEPSG(4326)
    for srs in (utm, geo):
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    lon, lat, _ = osr.CoordinateTransformation(utm, geo).TransformPoint(500505.0, 3999605.0)
    d = 1e-5  # about a metre
    window = pixel_window(Extent(lon - d, lat - d, lon + d, lat + d, "EPSG:4326"), 100, 80, GT, wkt)
    assert window == Window(50, 39, 1, 1)
    with pytest.raises(InvalidOptionError, match="not a coordinate reference system"):
        pixel_window(Extent(0, 0, 1, 1, "EPSG:not-a-code"), 100, 80, GT, wkt)


def test_the_output_covers_the_extent_with_the_whole_rasters_statistics(tmp_path: Path, monkeypatch) -> None:
    models = tmp_path / "models"
    models.mkdir()
    model = tiny_models.conv3x3_model(models / "conv.onnx", normalization=PERCENTILE)
    rng = np.random.default_rng(0)
    data = rng.integers(0, 4000, (3, 90, 120)).astype(np.uint16)
    data[:, :, :40] //= 8  # a dark third: a window there has other percentiles than the whole
    src = make_raster(tmp_path / "in.tif", data)
    full = restore(RestoreJob("dehaze", {"optical": str(src)}, str(tmp_path / "full.tif"), model=str(model),
                              float_output=True))  # fmt: skip
    gt = DEFAULT_GEOTRANSFORM
    extent = Extent(gt[0] + 5.5 * gt[1], gt[3] + 60.5 * gt[5], gt[0] + 35.5 * gt[1], gt[3] + 20.5 * gt[5])
    out = tmp_path / "part.tif"
    restore(RestoreJob("dehaze", {"optical": str(src)}, str(out), model=str(model), float_output=True,
                       extent=extent))  # fmt: skip
    part = gdal.Open(str(out))
    assert (part.RasterXSize, part.RasterYSize) == (31, 41)  # columns 5..35, rows 20..60
    got = part.GetGeoTransform()
    assert got[0] == pytest.approx(gt[0] + 5 * gt[1]) and got[3] == pytest.approx(gt[3] + 20 * gt[5])
    whole = read_raster(full.output)
    # The pixels equal the full run's, up to the window's edge: the normalisation statistics are the
    # whole raster's, and the 3x3 kernel sees the real pixels beyond the window, not a reflection.
    np.testing.assert_allclose(read_raster(out), whole[:, 20:61, 5:36], rtol=0, atol=1e-4)
    inner = whole[:, 21:60, 6:35]
    cropped = make_raster(tmp_path / "crop.tif", data[:, 20:61, 5:36])
    alone = restore(RestoreJob("dehaze", {"optical": str(cropped)}, str(tmp_path / "alone.tif"),
                               model=str(model), float_output=True))  # fmt: skip
    assert np.abs(read_raster(alone.output)[:, 1:-1, 1:-1] - inner).max() > 1.0


def test_every_input_is_cut_to_the_same_window(tmp_path: Path) -> None:
    """A second input on the optical grid, or on another grid resampled onto it, follows the extent."""
    model = tiny_models.fuse_model(tmp_path / "fuse.onnx")
    rng = np.random.default_rng(1)
    visible = make_raster(tmp_path / "vis.tif", rng.random((3, 40, 50)).astype(np.float32))
    infrared = make_raster(tmp_path / "ir.tif", rng.random((1, 40, 50)).astype(np.float32))
    gt = DEFAULT_GEOTRANSFORM
    coarse = (gt[0], 2 * gt[1], 0.0, gt[3], 0.0, 2 * gt[5])
    infrared_coarse = make_raster(tmp_path / "ir2.tif", rng.random((1, 20, 25)).astype(np.float32),
                                  geotransform=coarse)  # fmt: skip
    extent = Extent(gt[0] + 10 * gt[1], gt[3] + 30 * gt[5], gt[0] + 30 * gt[1], gt[3] + 12 * gt[5])
    for ir, resample in ((infrared, False), (infrared_coarse, True)):
        inputs = {"optical": str(visible), "infrared": str(ir)}
        options = {"model": str(model), "resample": resample}
        full = restore(RestoreJob("derain_fuse", inputs, str(tmp_path / f"full{resample}.tif"), **options))
        part = restore(RestoreJob("derain_fuse", inputs, str(tmp_path / f"part{resample}.tif"), **options,
                                  extent=extent))  # fmt: skip
        expected = read_raster(full.output)[:, 12:30, 10:30]
        np.testing.assert_allclose(read_raster(part.output), expected, atol=1e-6)


def _polygons(path: Path, rings: list[list[tuple[float, float]]], epsg: int = 32618) -> Path:
    features = [{"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}
                for ring in rings]  # fmt: skip
    crs = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{epsg}"}}
    import json

    path.write_text(json.dumps({"type": "FeatureCollection", "crs": crs, "features": features}))
    return path


def test_a_region_restores_inside_its_polygons_and_keeps_the_input_outside(tmp_path: Path) -> None:
    from backend.errors import InvalidOptionError as Invalid

    model = tiny_models.conv3x3_model(tmp_path / "conv.onnx", normalization=PERCENTILE,
                                      tile=None)  # fmt: skip
    rng = np.random.default_rng(4)
    data = rng.integers(100, 4000, (3, 96, 128)).astype(np.uint16)
    src = make_raster(tmp_path / "in.tif", data)
    gt = DEFAULT_GEOTRANSFORM

    def xy(col: float, row: float) -> tuple[float, float]:
        return gt[0] + col * gt[1], gt[3] + row * gt[5]

    # A triangle over columns 20..60, rows 10..50, and a square over columns 90..100, rows 70..80.
    triangle = [xy(20, 10), xy(60, 10), xy(20, 50), xy(20, 10)]
    square = [xy(90, 70), xy(100, 70), xy(100, 80), xy(90, 80), xy(90, 70)]
    region = _polygons(tmp_path / "aoi.geojson", [triangle, square])
    full = restore(RestoreJob("dehaze", {"optical": str(src)}, str(tmp_path / "full.tif"), model=str(model)))
    part = restore(RestoreJob("dehaze", {"optical": str(src)}, str(tmp_path / "part.tif"), model=str(model),
                              region=str(region), tile_size=16, overlap=4))  # fmt: skip
    ds = gdal.Open(str(part.output))
    assert (ds.RasterXSize, ds.RasterYSize) == (80, 70)  # the bounding box: cols 20..100, rows 10..80
    assert part.skipped_tiles > 0  # tiles between the two polygons are not run
    out = read_raster(part.output)
    box = data[:, 10:80, 20:100]
    inside = np.zeros((70, 80), bool)
    inside[:40, :40] = np.add.outer(np.arange(40), np.arange(40)) < 39  # well inside the triangle
    inside[62:68, 72:78] = True  # inside the square
    np.testing.assert_array_equal(out[:, inside], read_raster(full.output)[:, 10:80, 20:100][:, inside])
    assert np.abs(out[:, inside].astype(int) - box[:, inside]).max() > 0
    outside = np.zeros((70, 80), bool)
    outside[45:, :60] = True  # below the triangle, left of the square
    np.testing.assert_array_equal(out[:, outside], box[:, outside])
    far = _polygons(tmp_path / "far.geojson", [[xy(500, 500), xy(510, 500), xy(510, 510), xy(500, 500)]])
    with pytest.raises(Invalid, match="does not overlap"):
        restore(RestoreJob("dehaze", {"optical": str(src)}, str(tmp_path / "x.tif"), model=str(model),
                           region=str(far)))  # fmt: skip
