"""Degradation synthesis: each kind has a config dataclass and a ``synthesize_*`` function.

``SYNTHESES`` is the registry the data recipes use; ``make_config(root, overrides)`` builds the
config with the shared-data paths it needs (the cirrus patterns) and a task spec's overrides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .base import Degradation, Synthesiser
from .clouds import CloudConfig, synthesize_clouds
from .dust import DustConfig, synthesize_dust
from .gaps import GapConfig, synthesize_gaps
from .haze import CIRRUS_DIR
from .haze_recipe import HazeRecipeConfig, synthesize_haze_recipe
from .rain import NightRainConfig, synthesize_night_rain, synthesize_night_scene
from .rs_haze import RSHazeConfig, synthesize_rs_haze


@dataclass(frozen=True)
class SynthesisEntry:
    synth: Synthesiser
    config_cls: type
    #: Config defaults that depend on the data root.
    root_defaults: Callable[[Path], dict[str, Any]] = lambda root: {}

    def make_config(self, root: Path, overrides: dict[str, Any] | None = None) -> Any:
        return self.config_cls(**{**self.root_defaults(root), **(overrides or {})})


def _haze_defaults(root: Path) -> dict[str, Any]:
    folder = root / CIRRUS_DIR
    return {"cirrus_dir": str(folder)} if folder.is_dir() else {}


SYNTHESES: dict[str, SynthesisEntry] = {
    "haze": SynthesisEntry(synthesize_haze_recipe, HazeRecipeConfig, _haze_defaults),
    "rs_haze": SynthesisEntry(synthesize_rs_haze, RSHazeConfig, _haze_defaults),
    "dust": SynthesisEntry(synthesize_dust, DustConfig),
    "clouds": SynthesisEntry(synthesize_clouds, CloudConfig),
    "night_rain": SynthesisEntry(synthesize_night_rain, NightRainConfig),
    "night_scene": SynthesisEntry(synthesize_night_scene, NightRainConfig),
    "gaps": SynthesisEntry(synthesize_gaps, GapConfig),
}

__all__ = ["SYNTHESES", "Degradation", "SynthesisEntry"]
