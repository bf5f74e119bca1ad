"""Missing data: Landsat-7 SLC-off wedge stripes, dead lines, and cloud-shaped holes.

SLC-off: since 2003 the ETM+ scan-line corrector is off and each scan leaves a wedge-shaped gap,
about 0 px wide at the scene's nadir track and widening toward the edges, repeating every scan,
tilted with the orbit. The defaults match the real SLC-off scenes of ``landsat7_slcoff_3dates``
(25 m): stripes tilted ~15 deg, one gap every ~40 px along a column, gaps 6-12 px (median-p90)
wide along a column (``python -m training realism`` measures both). Dead lines are whole rows or columns
of a failed detector. Holes are thick-cloud-shaped blobs masked out. Missing pixels are NaN in the
optical input (nodata, as a user raster would have) and 1 in the mask input; the target is whole.
On a share of samples (``reference_probability``) a ``reference`` input is added: a synthetic
other date of the same place (:func:`other_date`), for models that take one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .base import Degradation
from .noise import smooth_noise


@dataclass(frozen=True)
class GapConfig:
    #: Probabilities of each kind (one is drawn per sample; the rest are added with ``combine``).
    kinds: tuple[str, ...] = ("slc_off", "dead_lines", "holes")
    weights: tuple[float, ...] = (0.5, 0.2, 0.3)
    combine_probability: float = 0.2
    #: Scan period across the stripes and the widest gap (at the swath edge), in pixels.
    scan_period: tuple[float, float] = (30.0, 44.0)
    max_gap_width: tuple[float, float] = (10.0, 22.0)
    tilt_deg: tuple[float, float] = (-20.0, 20.0)
    dead_lines: tuple[int, int] = (1, 8)
    dead_line_width: tuple[int, int] = (1, 3)
    hole_cover: tuple[float, float] = (0.03, 0.3)
    #: Share of samples that get a ``reference`` input (the same place on another date, see
    #: :func:`other_date`); 0 keeps the single-date task.
    reference_probability: float = 0.0
    #: Per-band gain and offset of the other date's radiometry, and the share of its samples with
    #: their own SLC-off gaps (a Landsat-7 reference has them too) and with changed ground.
    reference_gain: tuple[float, float] = (0.7, 1.3)
    reference_offset: tuple[float, float] = (-0.1, 0.1)
    reference_gap_probability: float = 0.5
    reference_change_probability: float = 0.5


def slc_off_mask(shape: tuple[int, int], rng: np.random.Generator, config: GapConfig) -> np.ndarray:
    """Wedge stripes: gap where the scan phase is below a width growing with distance from nadir."""
    height, width = shape
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    tilt = np.deg2rad(rng.uniform(*config.tilt_deg))
    along = yy * np.cos(tilt) + xx * np.sin(tilt)  # along-track coordinate
    across = -yy * np.sin(tilt) + xx * np.cos(tilt)
    # Nadir somewhere across the scene (a crop may be all on one side of it).
    nadir = rng.uniform(across.min() - width, across.max() + width)
    half_swath = rng.uniform(1.0, 3.0) * width
    period = rng.uniform(*config.scan_period)
    gap = rng.uniform(*config.max_gap_width) * np.clip(np.abs(across - nadir) / half_swath, 0, 1)
    phase = np.mod(along + rng.uniform(0, period), period)
    return (phase < gap).astype(np.float32)


def dead_line_mask(shape: tuple[int, int], rng: np.random.Generator, config: GapConfig) -> np.ndarray:
    mask = np.zeros(shape, dtype=np.float32)
    columns = rng.random() < 0.5
    size = shape[1] if columns else shape[0]
    for _ in range(int(rng.integers(config.dead_lines[0], config.dead_lines[1] + 1))):
        start = int(rng.integers(0, size))
        stop = start + int(rng.integers(config.dead_line_width[0], config.dead_line_width[1] + 1))
        if columns:
            mask[:, start:stop] = 1.0
        else:
            mask[start:stop, :] = 1.0
    return mask


def hole_mask(shape: tuple[int, int], rng: np.random.Generator, config: GapConfig) -> np.ndarray:
    field = smooth_noise(shape, rng, base_scale=rng.uniform(24.0, 128.0), octaves=5)
    threshold = float(np.quantile(field, 1.0 - rng.uniform(*config.hole_cover)))
    return ndimage.binary_opening(field > threshold, iterations=1).astype(np.float32)


_MAKERS = {"slc_off": slc_off_mask, "dead_lines": dead_line_mask, "holes": hole_mask}


def gap_mask(shape: tuple[int, int], rng: np.random.Generator, config: GapConfig) -> np.ndarray:
    """A (H, W) mask, 1 = missing; never empty and never the whole crop."""
    weights = np.asarray(config.weights, dtype=np.float64)
    kinds = [config.kinds[int(rng.choice(len(config.kinds), p=weights / weights.sum()))]]
    kinds += [k for k in config.kinds if k not in kinds and rng.random() < config.combine_probability]
    mask = np.zeros(shape, dtype=np.float32)
    for kind in kinds:
        mask = np.maximum(mask, _MAKERS[kind](shape, rng, config))
    if mask.all():
        mask[: shape[0] // 2] = 0.0
    if not mask.any():
        mask[shape[0] // 2, :] = 1.0
    return mask


def other_date(image: np.ndarray, rng: np.random.Generator, config: GapConfig) -> np.ndarray:
    """A synthetic other-date image of the same place: radiometrically perturbed, not a copy.

    Per-band gain and offset (another sun angle, atmosphere, season), a smooth spatial gain
    (+-10 %, thin haze and phenology), on some samples changed ground (blobs taken from elsewhere
    in the scene, flipped), a sub-pixel misregistration, sensor noise and, on some samples, its own
    SLC-off gaps as NaN. Values are in the unit domain, not clipped above (the engine re-normalises
    the reference with its own statistics).
    """
    bands, height, width = image.shape
    gain = rng.uniform(*config.reference_gain, size=(bands, 1, 1)).astype(np.float32)
    offset = rng.uniform(*config.reference_offset, size=(bands, 1, 1)).astype(np.float32)
    spatial = 1.0 + 0.2 * (smooth_noise((height, width), rng, base_scale=rng.uniform(32.0, 128.0)) - 0.5)
    ref = image * gain * spatial[None] + offset
    if rng.random() < config.reference_change_probability:
        field = smooth_noise((height, width), rng, base_scale=rng.uniform(8.0, 32.0), octaves=3)
        changed = field > np.quantile(field, 1.0 - rng.uniform(0.02, 0.15))
        elsewhere = image[:, ::-1, ::-1] * gain + offset
        ref = np.where(changed[None], elsewhere, ref)
    shift = rng.uniform(-0.5, 0.5, size=2)
    ref = np.stack([ndimage.shift(band, shift, order=1, mode="nearest") for band in ref])
    ref = ref + rng.normal(0.0, rng.uniform(0.0, 0.02), size=ref.shape)
    ref = np.clip(ref, 0.0, None).astype(np.float32)
    if rng.random() < config.reference_gap_probability:
        ref[:, slc_off_mask((height, width), rng, config) > 0] = np.nan
    return ref


def synthesize_gaps(
    clean: Mapping[str, np.ndarray], rng: np.random.Generator, config: GapConfig, bands: tuple[str, ...]
) -> Degradation:
    """Gaps in ``clean['optical']``: NaN in the optical input, 1 in the ``mask`` input."""
    image = clean["optical"]
    mask = gap_mask(image.shape[1:], rng, config)
    holed = np.where(mask[None] > 0, np.float32(np.nan), image).astype(np.float32)
    inputs = {"optical": holed, "mask": mask[None]}
    if rng.random() < config.reference_probability:
        inputs["reference"] = other_date(image, rng, config)
    return Degradation(
        inputs=inputs,
        target=image.astype(np.float32),
        mask=mask[None],
    )
