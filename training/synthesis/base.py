"""What every degradation synthesiser takes and returns, and the band wavelengths they share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

#: Central wavelength in micrometres of each band name of ``backend.tasks.BAND_NAMES`` that has one:
#: scattering depends on it (blue is hazier than red, NIR sees through thin haze).
WAVELENGTH_UM: dict[str, float] = {
    "coastal": 0.443, "blue": 0.49, "green": 0.56, "red": 0.665, "rededge1": 0.705,
    "rededge2": 0.74, "rededge3": 0.783, "nir": 0.842, "nir08": 0.865, "watervapour": 0.945,
    "cirrus": 1.375, "swir1": 1.61, "swir2": 2.19, "pan": 0.59, "gray": 0.56,
}  # fmt: skip


def wavelengths(bands: tuple[str, ...]) -> np.ndarray:
    """Wavelengths (µm) of ``bands``, shaped (C, 1, 1) for broadcasting over an image."""
    return np.array([WAVELENGTH_UM.get(b, 0.56) for b in bands], dtype=np.float32)[:, None, None]


@dataclass
class Degradation:
    """A synthetic training pair in the unit domain (clean scene stretched to [0, 1]).

    ``inputs`` maps each model input role to its (C, H, W) float32 array; ``target`` is the clean
    optical image the model must produce; ``mask`` (1, H, W) marks pixels that were destroyed (gap
    filling) and ``info`` keeps the drawn parameters for figures and tests.
    """

    inputs: dict[str, np.ndarray]
    target: np.ndarray
    mask: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)


class Synthesiser(Protocol):
    """``synth(clean_by_role, rng, config, bands) -> Degradation``; clean arrays are (C, H, W) in [0, 1]."""

    def __call__(
        self,
        clean: Mapping[str, np.ndarray],
        rng: np.random.Generator,
        config: Any,
        bands: tuple[str, ...],
    ) -> Degradation: ...
