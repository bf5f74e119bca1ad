"""The panel grid every comparison figure is drawn with."""

from __future__ import annotations

import numpy as np
from PIL import Image

from training.figures import Panel, common_stretch, panel_grid


def test_a_panel_maps_its_stretch_and_shows_invalid_pixels_white():
    image = np.stack([np.full((4, 4), v, np.float32) for v in (0.0, 0.5, 1.0)])
    image[0, 0, 0] = np.nan
    valid = np.ones((4, 4), bool)
    valid[3, 3] = False
    shown = Panel(image, stretch=(0.0, 0.5), valid=valid).display()
    assert shown.shape == (4, 4, 3)
    assert shown[1, 1].tolist() == [0.0, 1.0, 1.0]  # 0.5 is the top of the stretch, 1.0 clips
    assert shown[0, 0, 0] == 0.0 and shown[3, 3].tolist() == [1.0, 1.0, 1.0]
    assert Panel(image[:1]).display().shape == (4, 4)  # one band: shown in its colour map


def test_common_stretch_spans_every_image_over_the_valid_pixels():
    dark, bright = np.zeros((3, 10, 10)), np.ones((3, 10, 10))
    bright[:, 0, 0] = 100.0
    valid = np.ones((10, 10), bool)
    valid[0, 0] = False
    assert common_stretch([dark, bright], valid) == (0.0, 1.0)
    assert common_stretch([dark, bright])[1] > 1.0


def test_panel_grid_draws_rows_with_empty_cells(tmp_path):
    image = np.random.default_rng(0).random((3, 8, 8))
    path = panel_grid(tmp_path / "grid.png", [[Panel(image, "a"), None, Panel(image, "c")], [Panel(image)]],
                      row_labels=["one", "two"], cell=(2, 2), dpi=50)  # fmt: skip
    width, height = Image.open(path).size
    assert (width, height) == (300, 200)
