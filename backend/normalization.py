"""Value normalisation shared by the engine and the training package.

Every normalisation is a per-band *linear* map: raster value ``low[b]`` goes to ``norm.range[0]`` and
``high[b]`` to ``norm.range[1]``. ``fixed`` mode derives ``low``/``high`` from ``scale``/``offset``;
``percentile`` mode takes them from the statistics of the **whole raster** (overviews or sampled
windows), never from a tile: a per-tile stretch gives every tile its own colours and so makes seams.
Because the map is linear and exactly invertible, ``denormalize(normalize(x)) == x`` for integer
rasters after rounding, which is what lets an identity model reproduce its input.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from .errors import InputRasterError
from .model_card import Normalization, SceneContext


@dataclass(frozen=True)
class NormStats:
    """Per-band raster values that map to the two ends of ``Normalization.range``.

    ``fill`` is each band's median over valid pixels: what a model without a mask input sees where
    the raster is nodata (see :func:`nodata_fill`). ``None`` where no sample was taken. ``context``
    holds the scene-context percentiles in raster units, percentile by percentile, band by band
    (see :func:`context_vector`); empty when the model takes none.
    """

    low: tuple[float, ...]
    high: tuple[float, ...]
    fill: tuple[float, ...] | None = None
    context: tuple[float, ...] = ()

    def arrays(self, bands: int) -> tuple[np.ndarray, np.ndarray]:
        """``low``/``high`` as float64 (bands, 1, 1) arrays (a joint stretch is broadcast)."""
        low = np.asarray(self.low, dtype=np.float64)
        high = np.asarray(self.high, dtype=np.float64)
        if low.size == 1 and bands != 1:
            low, high = np.repeat(low, bands), np.repeat(high, bands)
        if low.size != bands:
            raise ValueError(f"statistics for {low.size} bands cannot normalise {bands} bands")
        return low.reshape(-1, 1, 1), high.reshape(-1, 1, 1)


class SampleSource(Protocol):
    """What ``compute_stats`` needs from a raster reader: a representative sample of the bands."""

    def sample(self) -> np.ndarray:
        """A (C, N) or (C, H, W) array of valid-looking pixels drawn from the whole raster."""
        ...

    @property
    def nodata(self) -> float | None: ...


def fixed_stats(norm: Normalization, bands: int) -> NormStats:
    """The ``low``/``high`` implied by ``x * scale + offset`` for ``fixed`` normalisation."""
    lo_r, hi_r = norm.range
    low = (lo_r - norm.offset) / norm.scale
    high = (hi_r - norm.offset) / norm.scale
    return NormStats((low,) * bands, (high,) * bands)


def compute_stats(
    reader_or_array: Any, norm: Normalization, nodata: float | None = None,
    context: SceneContext | None = None,
) -> NormStats:
    """Global statistics for ``norm`` from a (C, H, W) array or a reader with ``sample()``.

    ``fixed`` needs no data. ``percentile`` takes the ``low``/``high`` percentiles over valid pixels
    (not nodata, finite), per band or jointly; ``scale`` takes ``high`` the same way and 0 as ``low``.
    A band with no valid pixel, or a constant band, gets
    a unit-wide interval so the map stays invertible. Every mode also records each band's median
    (``fill``, see :func:`nodata_fill`) and, for a ``context``, its percentiles of each band (raster
    units).
    """
    if isinstance(reader_or_array, np.ndarray):
        data = reader_or_array
        if data.ndim == 2:  # one band, (H, W)
            data = data[None]
    else:
        data = reader_or_array.sample()  # (C, N) or (C, H, W): the first axis is the band
        if nodata is None:
            nodata = getattr(reader_or_array, "nodata", None)
    bands = data.shape[0]
    flat = data.reshape(bands, -1)
    valid_px = np.ones(flat.shape[1], dtype=bool)
    if np.issubdtype(flat.dtype, np.floating):
        valid_px &= np.isfinite(flat).all(axis=0)
    if nodata is not None and np.isfinite(nodata):
        # A pixel counts only where no band is nodata: statistics stay consistent across bands.
        valid_px &= (flat != nodata).all(axis=0)
    # Boolean indexing copies the sample (tens of ms for 1 Mpx x 3 bands): skip it when all is valid.
    valid = flat if bool(valid_px.all()) else flat[:, valid_px]
    # The fill needs no precision: a median of at most 65,536 sample pixels costs ~1 ms, not ~10.
    fill = tuple(float(np.median(v[:: max(1, v.size // 65536)])) if v.size else 0.0 for v in valid)
    scene = ()
    if context is not None:
        qs = context.percentiles
        per_band = [np.percentile(v, qs) if v.size else np.zeros(len(qs)) for v in valid]
        scene = tuple(float(per_band[b][k]) for k in range(len(qs)) for b in range(bands))
    if norm.mode == "fixed":
        return dataclasses.replace(fixed_stats(norm, bands), fill=fill, context=scene)
    if norm.per_band:
        lows, highs = zip(*(_percentiles(v, norm) for v in valid), strict=True)
        return NormStats(tuple(lows), tuple(highs), fill, scene)
    lo, hi = _percentiles(valid.ravel(), norm)
    return NormStats((lo,) * bands, (hi,) * bands, fill, scene)


def with_black_level(norm: Normalization, stats: NormStats, level: float) -> NormStats:
    """``stats`` of a ``scale`` normalisation anchored at a sensor's black level instead of zero.

    Level-1 digital numbers are not zero where the ground is black (Landsat 8/9: 5,000; Sentinel-2
    L1C from processing baseline 04.00: 1,000), and in a dark scene that offset is half of the
    brightest values. A model that keeps the raster's floor as the cue of haze (``scale``) reads it
    as haze and takes it off. Anchored at the black level, the raster is scaled as ``value - level``
    is, and the inverse map adds the level back to the output.
    """
    if norm.mode != "scale":
        raise ValueError(f"a black level applies to 'scale' normalisation, not {norm.mode!r}")
    brightest = min(stats.high)
    if level >= brightest:
        raise InputRasterError(f"black level {level:g} is not below the raster's {norm.high:g}th percentile "
                               f"({brightest:g}): is it in the raster's units?")
    return dataclasses.replace(stats, low=(float(level),) * len(stats.low))


def context_vector(norm: Normalization, stats: NormStats, bands: int) -> np.ndarray:
    """The scene context (K,) float32 in model units: ``stats.context`` normalised like the input."""
    if not stats.context or len(stats.context) % bands:
        raise ValueError(f"no scene context for {bands} bands in these statistics")
    gain, bias = _forward(norm, stats, bands)
    values = np.asarray(stats.context, dtype=np.float64).reshape(-1, bands)
    return (values * gain.ravel() + bias.ravel()).ravel().astype(np.float32)


def nodata_fill(norm: Normalization, stats: NormStats, bands: int, *, has_mask: bool) -> np.ndarray:
    """Normalised values (bands,) a model sees in place of nodata pixels.

    A model with a mask input is told where the gaps are and was trained with them at the range
    minimum. A model without one cannot tell nodata from ground, so it sees the raster's median:
    the range minimum would read as dark, haze-free ground at the edge of every scene, and would
    drag any statistic pooled over a tile (channel attention) towards black.
    """
    if has_mask or stats.fill is None:
        return np.full(bands, norm.range[0], dtype=np.float32)
    fill = np.asarray(stats.fill, dtype=np.float64)
    if fill.size == 1 and bands != 1:
        fill = np.repeat(fill, bands)
    gain, bias = _forward(norm, stats, bands)
    return (fill * gain.ravel() + bias.ravel()).astype(np.float32)


def _percentiles(values: np.ndarray, norm: Normalization) -> tuple[float, float]:
    if values.size == 0:
        return 0.0, 1.0
    if norm.mode == "scale":  # anchored at zero: only the gain comes from the data
        hi = float(np.percentile(values, norm.high))
        return 0.0, hi if hi > 0 else 1.0
    lo, hi = np.percentile(values, [norm.low, norm.high])
    lo, hi = float(lo), float(hi)
    if not hi > lo:
        hi = lo + 1.0
    return lo, hi


def _forward(norm: Normalization, stats: NormStats, bands: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-band ``gain``/``bias`` (float64, (bands, 1, 1)) with ``model = raster * gain + bias``."""
    if norm.mode == "fixed":
        gain = np.full((bands, 1, 1), norm.scale, dtype=np.float64)
        return gain, np.full((bands, 1, 1), norm.offset, dtype=np.float64)
    lo_r, hi_r = norm.range
    low, high = stats.arrays(bands)
    gain = (hi_r - lo_r) / (high - low)
    return gain, lo_r - low * gain


def normalize(array: np.ndarray, norm: Normalization, stats: NormStats,
              out: np.ndarray | None = None) -> np.ndarray:
    """Map raster values (C, H, W) to the network's range as float32 (no clipping: invertible).

    ``fixed`` is exactly ``x * scale + offset`` in float32, so with scale 1 and offset 0 a float
    raster passes through bit-exact. ``out`` (float32, same shape) receives the result, e.g. a slot
    of the model's batch, which saves stacking the tiles afterwards.
    """
    if array.ndim != 3:
        raise InputRasterError(f"normalize expects a (bands, rows, cols) array, got shape {array.shape}")
    gain, bias = _forward(norm, stats, array.shape[0])
    # Cast first, then scale in place: the same float32 arithmetic as a mixed-type multiply, but
    # NumPy's plain float32 loops run about twice as fast as its casting ones.
    if out is None:
        out = array.astype(np.float32, copy=True)
    else:
        out[...] = array
    if (gain != 1.0).any():
        out *= gain.astype(np.float32)
    if (bias != 0.0).any():
        out += bias.astype(np.float32)
    return out


def denormalize(
    array: np.ndarray,
    norm: Normalization,
    stats: NormStats,
    out_range: tuple[float, float] = (0.0, 1.0),
    dtype: Any = np.float32,
    inplace: bool = False,
) -> np.ndarray:
    """Map a model output (C, H, W) in ``out_range`` back to raster values of ``dtype``.

    ``out_range`` is first mapped onto ``norm.range``, then the inverse of the input normalisation is
    applied (folded into one per-band affine map, in float64, or float32 for 8/16-bit integer
    outputs, where it is exact enough to round correctly). Integer results are rounded and clipped to
    the dtype's limits. ``inplace`` lets ``array`` be overwritten when it already has that float type.
    """
    dtype = np.dtype(dtype)
    bands = array.shape[0]
    lo_r, hi_r = norm.range
    lo_o, hi_o = out_range
    k = (hi_r - lo_r) / (hi_o - lo_o)
    gain, bias = _forward(norm, stats, bands)
    # raster = (model_in - bias) / gain, model_in = lo_r + (y - lo_o) * k
    scale = k / gain
    shift = (lo_r - lo_o * k - bias) / gain
    # 8- and 16-bit integers only need float32 before rounding (half the memory traffic); float
    # outputs and wider integers keep float64.
    work = np.float32 if (dtype.kind in "iu" and dtype.itemsize <= 2) else np.float64
    if inplace and array.dtype == work:
        x = array
        if (scale != 1.0).any():
            x *= scale.astype(work)
    else:
        # Cast, then scale in place: the arithmetic of ``np.multiply(..., dtype=work)``, with
        # NumPy's faster same-type loops.
        x = np.array(array, dtype=work, copy=True)
        if (scale != 1.0).any():
            x *= scale.astype(work)
    if (shift != 0.0).any():
        x += shift.astype(work)
    return cast_to(x, dtype)


def cast_to(x: np.ndarray, dtype: Any) -> np.ndarray:
    """Round (integers) and clip to the limits of ``dtype``; NaN becomes 0 for integers.

    ``x`` (a float array) may be modified in place.
    """
    dtype = np.dtype(dtype)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        np.rint(x, out=x)
        if not np.isfinite(x).all():
            np.nan_to_num(x, copy=False, nan=0.0, posinf=info.max, neginf=info.min)
        np.clip(x, info.min, info.max, out=x)
        return x.astype(dtype)
    if dtype == np.float32:
        info32 = np.finfo(np.float32)
        np.clip(x, info32.min, info32.max, out=x)
        return x.astype(np.float32)
    return x.astype(dtype)
