"""Turn a synthetic pair into what the network sees, with the backend's own normalisation.

At inference the engine normalises each input with statistics of the *whole input raster*, runs the
network, and maps the output back with the inverse of the ``like`` input's normalisation. Training
mirrors that: every input is normalised with statistics of the degraded input (the crop, or the
larger region it was cut from, stands in for the raster), and the clean target with the statistics
of the input it is ``like``, so the network learns the map the engine will apply and its outputs land
back in raster units. An input with a scene context also gets that vector, from the same statistics.
"""

from __future__ import annotations

import numpy as np

from backend.model_card import TensorSpec
from backend.normalization import NormStats, compute_stats, context_vector, nodata_fill, normalize
from backend.tasks import VALIDITY_BAND

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
        validity = len(spec_in.bands) > 1 and spec_in.bands[-1] == VALIDITY_BAND
        if validity:  # fed per pixel like the engine does (``backend.tasks.VALIDITY_BAND``)
            shape = next(iter(inputs.values())).shape[1:]
            arrays.append(_with_validity(inputs.get(spec_in.role), spec_in, shape, stats_by_role))
            continue
        array = inputs[spec_in.role]
        missing = np.isnan(array).any(axis=0)
        if spec_in.normalization is not None:
            stats = compute_stats(array, spec_in.normalization, context=spec_in.context)
            stats_by_role[spec_in.role] = stats
            array = normalize(array, spec_in.normalization, stats)
            if missing.any():
                fill = nodata_fill(spec_in.normalization, stats, array.shape[0], has_mask=has_mask)
                array[:, missing] = fill[:, None]
        arrays.append(np.nan_to_num(array, nan=0.0).astype(np.float32))
    return np.concatenate(arrays, axis=0), stats_by_role


def _with_validity(array: np.ndarray | None, spec_in: TensorSpec, shape: tuple[int, ...],
                   stats_by_role: dict[str, NormStats]) -> np.ndarray:
    """An input whose last band is the validity plane: all zeros when absent (``array`` None); a
    mask (1, H, W) is known everywhere; other inputs are normalised with NaN as unknown, where the
    data are 0 (the engine's ``TileSource`` feeds the same)."""
    bands = len(spec_in.bands) - 1
    if array is None:
        return np.zeros((bands + 1, *shape), dtype=np.float32)
    if spec_in.role == "mask":
        return np.concatenate([array[:1], np.ones_like(array[:1])]).astype(np.float32)
    known = ~np.isnan(array).any(axis=0)
    stats = compute_stats(array, spec_in.normalization, context=spec_in.context)
    stats_by_role[spec_in.role] = stats
    data = normalize(array[:bands], spec_in.normalization, stats)
    data[:, ~known] = 0.0
    return np.concatenate([np.nan_to_num(data, nan=0.0), known[None]]).astype(np.float32)


def like_input(spec: TaskSpec):
    """The input whose normalisation maps the output back: the first optical input."""
    return next(s for s in spec.inputs if s.role == "optical")


def scene_context(spec: TaskSpec, stats: dict[str, NormStats]) -> np.ndarray | None:
    """The context vector of the (one) input that declares a scene context, else ``None``."""
    spec_in = spec.context_input
    if spec_in is None:
        return None
    return context_vector(spec_in.normalization, stats[spec_in.role], len(spec_in.bands))


def prepare_pair(
    deg: Degradation, spec: TaskSpec, window: tuple[slice, slice] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(network input (C_in, H, W), target (C_out, H, W), scene context (K,) or None)``, float32.

    With ``window`` the statistics come from the whole pair and only that window of it is returned:
    the pair stands in for a raster, the window for a tile.
    """
    x, stats = normalize_inputs(deg.inputs, spec)
    like = like_input(spec)
    y = normalize(deg.target, like.normalization, stats[like.role])
    lo_r, hi_r = like.normalization.range
    lo_o, hi_o = spec.output_range
    if (lo_o, hi_o) != (lo_r, hi_r):  # the network's output range, mapped from the input's range
        y = (y - lo_r) * ((hi_o - lo_o) / (hi_r - lo_r)) + lo_o
    if spec.clamp_output:
        y = np.clip(y, lo_o, hi_o)
    y = np.nan_to_num(y, nan=0.0).astype(np.float32)
    if window is not None:
        crop = (slice(None), *window)
        x, y = np.ascontiguousarray(x[crop]), np.ascontiguousarray(y[crop])
    return x, y, scene_context(spec, stats)
