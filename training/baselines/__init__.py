"""Classical methods a user could run instead, evaluated on the same inputs as the models.

Each baseline maps a degraded image (C, H, W) in the unit domain [0, 1] (NaN = missing) to a
restored one; ``BASELINES[task]`` lists the ones compared for a task (the degraded input itself is
always compared too, by ``training.evaluate``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .dcp import dark_channel_dehaze
from .fillnodata import gdal_fill_nodata
from .grayworld_clahe import grayworld_clahe
from .llhm import local_linear_fill

#: ``None`` when the baseline does not apply to these inputs (e.g. it needs a reference date).
Baseline = Callable[[dict[str, np.ndarray]], np.ndarray | None]


def push_pull(inputs: dict[str, np.ndarray]) -> np.ndarray:
    """The parameter-free pre-fill of the fill_gaps model alone: what the network adds on top."""
    import torch

    from ..model import push_pull_fill

    image = inputs["optical"]
    valid = np.isfinite(image).all(axis=0, keepdims=True)
    with torch.no_grad():
        x = torch.from_numpy(np.where(valid, image, 0.0).astype(np.float32))[None]
        filled = push_pull_fill(x, torch.from_numpy(valid.astype(np.float32))[None])
    return filled[0].numpy()


BASELINES: dict[str, dict[str, Baseline]] = {
    "dehaze": {"dark channel prior + guided filter": lambda inputs: dark_channel_dehaze(inputs["optical"])},
    "desand": {"gray-world + CLAHE": lambda inputs: grayworld_clahe(inputs["optical"])},
    "fill_gaps": {
        "GDAL FillNodata": lambda inputs: gdal_fill_nodata(inputs["optical"]),
        "push-pull interpolation": push_pull,
        "LLHM-style (reference date)": lambda inputs: (
            local_linear_fill(inputs["optical"], inputs["reference"]) if "reference" in inputs else None),
    },
    # For thin cloud only: a veil over the ground is haze-like; thick cores and shadows are not.
    "decloud": {"dark channel prior (thin cloud)": lambda inputs: dark_channel_dehaze(inputs["optical"])},
    "derain_fuse": {},
}
