"""Turn a synthetic pair into what the network sees, with the backend's own normalisation.

At inference the engine normalises each input with statistics of the *whole input raster*, runs the
network, and maps the output back with the inverse of the ``like`` input's normalisation. Training
mirrors that: every input is normalised with statistics of the degraded input (the crop stands in
for the raster), and the clean target with the statistics of the input it is ``like``, so the
network learns the map the engine will apply and its outputs land back in raster units.
"""

from __future__ import annotations

import numpy as np

from backend.normalization import NormStats, compute_stats, nodata_fill, normalize

from ..config import TaskSpec
from ..synthesis.base import Degradation


def normalize_inputs(
    inputs: dict[str, np.ndarray], spec: TaskSpec
) -> tuple[np.ndarray, dict[str, NormStats]]:
    """Normalise each input of ``spec`` and stack them along channels (the network's one tensor).

    NaN marks missing pixels (gaps, nodata): they are left out of the statistics and fed to the
    network as the engine feeds nodata (``backend.normalization.nodata_fill``).
    """
    arrays, stats_by_role = [], {}
    has_mask = any(s.role == "mask" for s in spec.inputs)
    for spec_in in spec.inputs:
        array = inputs[spec_in.role]
        missing = np.isnan(array).any(axis=0)
        if spec_in.normalization is not None:
            stats = compute_stats(array, spec_in.normalization)
            stats_by_role[spec_in.role] = stats
            array = normalize(array, spec_in.normalization, stats)
            if missing.any():
                fill = nodata_fill(spec_in.normalization, stats, array.shape[0], has_mask=has_mask)
                array[:, missing] = fill[:, None]
        arrays.append(np.nan_to_num(array, nan=0.0).astype(np.float32))
    return np.concatenate(arrays, axis=0), stats_by_role


def like_input(spec: TaskSpec):
    """The input whose normalisation maps the output back: the first optical input."""
    return next(s for s in spec.inputs if s.role == "optical")


def prepare_pair(deg: Degradation, spec: TaskSpec) -> tuple[np.ndarray, np.ndarray]:
    """``(network input (C_in, H, W), target (C_out, H, W))`` float32 for one pair."""
    x, stats = normalize_inputs(deg.inputs, spec)
    like = like_input(spec)
    y = normalize(deg.target, like.normalization, stats[like.role])
    lo_r, hi_r = like.normalization.range
    lo_o, hi_o = spec.output_range
    if (lo_o, hi_o) != (lo_r, hi_r):  # the network's output range, mapped from the input's range
        y = (y - lo_r) * ((hi_o - lo_o) / (hi_r - lo_r)) + lo_o
    if spec.clamp_output:
        y = np.clip(y, lo_o, hi_o)
    return x, np.nan_to_num(y, nan=0.0).astype(np.float32)
