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
