"""Architecture registry: ``build_arch(name, config)`` for every network the trainer knows.

Each architecture module exposes a frozen config dataclass (with ``lite()`` and ``full()``
classmethods) and an ``nn.Module`` built from it; registering the pair here is all a new network
needs. Checkpoints store the name and ``asdict(config)``, so export rebuilds the exact network.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from torch import nn


@dataclass(frozen=True)
class ArchEntry:
    """A registered architecture: its config class and its module class."""

    config_cls: type
    model_cls: type
    #: Name for people (the model card's ``architecture`` starts with it).
    title: str = ""


ARCHS: dict[str, ArchEntry] = {}


def register_arch(name: str, config_cls: type, model_cls: type, title: str = "") -> None:
    """Make ``name`` buildable; registering the same pair twice is harmless."""
    entry = ArchEntry(config_cls, model_cls, title or name)
    if ARCHS.get(name, entry) != entry:
        raise ValueError(f"architecture {name!r} is already registered to {ARCHS[name].model_cls}")
    ARCHS[name] = entry


def make_config(name: str, config: Any = "lite", **channels: int) -> Any:
    """The config dataclass of ``name`` from a preset name, a dict or an instance.

    ``channels`` (``in_channels``, ``out_channels``, ``context_features``) override the preset where
    the config has them, so one preset serves RGB and multi-input tasks; a scene context for an
    architecture that cannot take one is an error, not a silently ignored input.
    """
    if name not in ARCHS:
        raise KeyError(f"unknown architecture {name!r}; known: {', '.join(sorted(ARCHS))}")
    cls = ARCHS[name].config_cls
    if isinstance(config, str):
        if config not in ("lite", "full"):
            raise ValueError(f"architecture preset must be 'lite' or 'full', got {config!r}")
        config = getattr(cls, config)()
    elif isinstance(config, dict):
        config = cls(**config)
    fields = {f.name for f in dataclasses.fields(cls)}
    if channels.get("context_features") and "context_features" not in fields:
        raise ValueError(f"architecture {name!r} takes no scene context (no 'context_features')")
    return dataclasses.replace(config, **{k: v for k, v in channels.items() if k in fields})


def describe_arch(name: str, config: Any) -> str:
    """``"HSMR-Net (ngf=16, n_blocks=3, ...)"``: the card's ``architecture`` field."""
    if isinstance(config, dict):
        config = make_config(name, config)
    fields = ", ".join(f"{f.name}={getattr(config, f.name)}" for f in dataclasses.fields(config))
    return f"{ARCHS[name].title} ({fields})"


def build_arch(name: str, config: Any = "lite", **channels: int) -> tuple[nn.Module, Any]:
    """Build network ``name``; returns ``(model, config)`` so callers can store the config."""
    config = make_config(name, config, **channels)
    return ARCHS[name].model_cls(config), config


def _register_builtin() -> None:
    from .hsmr import HSMRConfig, HSMRNet
    from .tiny import TinyConfig, TinyNet
    from .unet import UNet, UNetConfig

    register_arch("tiny", TinyConfig, TinyNet, "Tiny two-layer CNN")
    register_arch("unet", UNetConfig, UNet, "Residual U-Net")
    register_arch("hsmr", HSMRConfig, HSMRNet, "HSMR-Net")


_register_builtin()
