"""Clean scenes: a source lists the bands it has; callers pick theirs, in their order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.support.rasters import make_raster
from training.data.scenes import BGRN, CLEAN_SCENES, RGB, SceneSource, load_scene, load_scenes, unit_stretch


@pytest.fixture()
def source(tmp_path: Path) -> tuple[SceneSource, np.ndarray]:
    """A 4-band R, G, B, NIR file (like rgbn_5m) under a data root."""
    data = np.random.default_rng(0).integers(0, 255, size=(4, 24, 20)).astype(np.uint8)
    make_raster(tmp_path / "rgbn.tif", data)
    files = tuple((band, ("rgbn.tif", k)) for k, band in enumerate(("red", "green", "blue", "nir"), 1))
    return SceneSource("rgbn", files, "test"), data


def test_a_scene_is_read_in_the_callers_band_order(tmp_path: Path, source) -> None:
    scene_source, data = source
    rgb, bgrn = load_scene(scene_source, tmp_path, RGB), load_scene(scene_source, tmp_path, BGRN)
    assert rgb.bands == RGB and bgrn.bands == BGRN
    np.testing.assert_array_equal(rgb.image, unit_stretch(data[:3].astype(np.float32)))
    np.testing.assert_array_equal(bgrn.image, unit_stretch(data[[2, 1, 0, 3]].astype(np.float32)))


def test_scenes_without_a_band_or_its_files_are_left_out(tmp_path: Path, source) -> None:
    scene_source, _ = source
    assert [s.name for s in load_scenes((scene_source,), tmp_path, ("blue", "swir1"))] == []
    assert [s.name for s in load_scenes((scene_source,), tmp_path / "elsewhere", RGB)] == []
    with pytest.raises(KeyError, match="no swir1 band; it has red, green, blue, nir"):
        scene_source.band_files(("blue", "swir1"))


def test_every_clean_scene_has_the_rgb_and_the_multispectral_bands() -> None:
    assert all(set(BGRN) <= set(s.bands) for s in CLEAN_SCENES)


def test_coarser_bands_are_resampled_onto_the_finest_grid(tmp_path: Path) -> None:
    """Like Sentinel-2's 10 m and 20 m bands: one footprint, two resolutions."""
    fine = np.arange(16 * 12, dtype=np.float32).reshape(16, 12)
    coarse = np.full((8, 6), 7.0, dtype=np.float32)
    coarse[:, 3:] = 9.0
    make_raster(tmp_path / "b10.tif", fine)
    make_raster(tmp_path / "b20.tif", coarse, geotransform=(500000.0, 20.0, 0.0, 4000000.0, 0.0, -20.0))
    files = (("red", ("b10.tif", 1)), ("swir1", ("b20.tif", 1)))
    with pytest.raises(Exception, match="b20.tif is"):
        load_scene(SceneSource("two", files, "test"), tmp_path, ("red", "swir1"))
    scene = load_scene(SceneSource("two", files, "test", resample=True), tmp_path, ("red", "swir1"))
    assert scene.image.shape == (2, 16, 12)
    raw = np.stack([fine, np.repeat(np.repeat(coarse, 2, 0), 2, 1)])
    # Bilinear: the flat halves of the coarse band keep their values away from the step.
    np.testing.assert_allclose(scene.image[1][:, :4], unit_stretch(raw)[1][:, :4], atol=1e-6)
    np.testing.assert_allclose(scene.image[1][:, -4:], unit_stretch(raw)[1][:, -4:], atol=1e-6)


def test_the_sentinel2_scene_lists_all_thirteen_bands() -> None:
    from training.data.scenes import S2_BANDS

    (s2,) = [s for s in CLEAN_SCENES if s.name == "sentinel2_virginia"]
    assert set(S2_BANDS) <= set(s2.bands) and s2.resample
