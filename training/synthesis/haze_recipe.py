"""The dehaze training recipe's haze: scattering-model haze plus the product modifiers, as data.

One config holds what a dehaze run may vary: a share of thin haze (``light_share``, optical depth
``light_tau``), bluish airlights (``airlight_angstrom``), a share hazed by the RS-Haze benchmark's
recipe (``rs_haze_share``), per-band gains of another product (``band_gain_share``), a sensor offset
(``offset_share``) and scene collars (``nodata_share``). With every share at 0 it is
``synthesize_haze`` itself, draw for draw. A task spec or a named training config sets the fields
(``TaskSpec.synthesis``); nothing else builds this synthesis.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .band_gain import BandGainConfig, add_band_gains
from .base import Degradation
from .haze import HazeConfig, synthesize_haze
from .nodata import NodataConfig, add_nodata
from .offset import OffsetConfig, add_offset
from .rs_haze import RSHazeConfig, synthesize_rs_haze


@dataclass(frozen=True)
class HazeRecipeConfig:
    """Shares of the samples that get each variation, and their ranges (0 = never drawn)."""

    #: Folder of real cirrus-band patterns (``haze.CIRRUS_DIR`` under the data root), or noise only.
    cirrus_dir: str | None = None
    #: Wavelength exponent of the airlight, ``HazeConfig.airlight_angstrom`` ((0, 0): grey).
    airlight_angstrom: tuple[float, float] = (0.0, 0.0)
    #: Share of thin-haze samples and their optical depth (down to 0: no haze at all), so the model
    #: also learns to leave clear ground alone.
    light_share: float = 0.0
    light_tau: tuple[float, float] = (0.02, 0.2)
    #: Share hazed by the RS-Haze benchmark's recipe instead (a bright airlight, ``RSHazeConfig``).
    rs_haze_share: float = 0.0
    #: Share with another product's per-band gains, and the largest ratio between two gains.
    band_gain_share: float = 0.0
    band_gain_ratio: float = 2.0
    #: Share recorded with a sensor offset (L1 digital numbers), and its range in the unit range.
    offset_share: float = 0.0
    offset_range: tuple[float, float] = (0.05, 0.6)
    #: Share with a scene collar of nodata.
    nodata_share: float = 0.0

    @property
    def haze(self) -> HazeConfig:
        return HazeConfig(cirrus_dir=self.cirrus_dir, airlight_angstrom=tuple(self.airlight_angstrom))


def synthesize_haze_recipe(clean: Mapping[str, np.ndarray], rng: np.random.Generator,
                           config: HazeRecipeConfig, bands: tuple[str, ...]) -> Degradation:  # fmt: skip
    """Haze over ``clean['optical']``, then the product's band gains, the sensor's offset and the
    scene collar, in the order a sensor records them. A variation with share 0 draws nothing."""
    haze = config.haze
    if config.rs_haze_share > 0 and rng.random() < config.rs_haze_share:
        deg = synthesize_rs_haze(clean, rng, RSHazeConfig(cirrus_dir=config.cirrus_dir), bands)
    else:
        if config.light_share > 0 and rng.random() < config.light_share:
            haze = dataclasses.replace(haze, tau=tuple(config.light_tau))
        deg = synthesize_haze(clean, rng, haze, bands)
    if config.band_gain_share > 0:
        deg = add_band_gains(deg, rng, BandGainConfig(config.band_gain_share, config.band_gain_ratio))
    if config.offset_share > 0:
        deg = add_offset(deg, rng, OffsetConfig(config.offset_share, tuple(config.offset_range)))
    if config.nodata_share > 0:
        deg = add_nodata(deg, rng, NodataConfig(probability=config.nodata_share))
    return deg
