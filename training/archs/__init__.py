"""Architecture registry: ``build_arch(name, config)`` for every network the trainer knows.

Each architecture module exposes a frozen config dataclass (with ``lite()`` and ``full()``
classmethods) and an ``nn.Module`` built from it; registering the pair here is all a new network
needs. Checkpoints store the name and ``asdict(config)``, so export rebuilds the exact network.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
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
    #: The publication (or "none" for the project's own helpers) the network re-implements.
    paper: str = ""
    #: Spatial multiple the network's input must have (the card's ``tile.multiple``).
    multiple: int = 1
    #: ``remap_bands(state, sources, fresh, config)``: trained weights for another band set (band
    #: ``i`` from old band ``sources[i]``, ``fresh[i]`` if it is new), for fine-tuning; None: cannot.
    remap_bands: Callable[..., dict] | None = None


ARCHS: dict[str, ArchEntry] = {}


def register_arch(name: str, config_cls: type, model_cls: type, title: str = "", *, paper: str = "",
                  multiple: int = 1, remap_bands: Callable[..., dict] | None = None) -> None:  # fmt: skip
    """Make ``name`` buildable; registering the same pair twice is harmless."""
    entry = ArchEntry(config_cls, model_cls, title or name, paper, multiple, remap_bands)
    if ARCHS.get(name, entry) != entry:
        raise ValueError(f"architecture {name!r} is already registered to {ARCHS[name].model_cls}")
    ARCHS[name] = entry


def make_config(name: str, config: Any = "lite", **channels: int) -> Any:
    """The config dataclass of ``name`` from a preset name, a dict or an instance. A dict with a
    ``"preset"`` key is that preset with the dict's other fields changed.

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
    elif isinstance(config, dict) and "preset" in config:
        changes = {k: v for k, v in config.items() if k != "preset"}
        config = dataclasses.replace(make_config(name, config["preset"]), **changes)
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


def count_parameters(module: nn.Module) -> int:
    """Trainable and frozen parameters of ``module`` (buffers such as BN statistics excluded)."""
    return sum(p.numel() for p in module.parameters())


def arch_summary(name: str, in_channels: int = 3, out_channels: int = 3) -> dict[str, Any]:
    """What ``python -m training archs`` lists for ``name``: paper, tile multiple and the parameter
    counts of the ``full`` and ``lite`` presets for ``in_channels`` -> ``out_channels``."""
    entry = ARCHS[name]
    counts = {
        f"{preset}_parameters": count_parameters(
            build_arch(name, preset, in_channels=in_channels, out_channels=out_channels)[0]
        )
        for preset in ("full", "lite")
    }
    return {"name": name, "title": entry.title, "paper": entry.paper, "multiple": entry.multiple,
            "in_channels": in_channels, "out_channels": out_channels, **counts}  # fmt: skip


def _register_builtin() -> None:
    from .hsmr import MULTIPLE as HSMR_MULTIPLE
    from .hsmr import HSMRConfig, HSMRNet, remap_bands
    from .msff import MULTIPLE as MSFF_MULTIPLE
    from .msff import MSFFConfig, MSFFNet
    from .tiny import TinyConfig, TinyNet
    from .unet import UNet, UNetConfig

    register_arch("tiny", TinyConfig, TinyNet, "Tiny two-layer CNN", paper="none (tests and smoke runs)")
    register_arch("unet", UNetConfig, UNet, "Residual U-Net", paper="none (the project's placeholder)",
                  multiple=4)  # fmt: skip
    register_arch("hsmr", HSMRConfig, HSMRNet, "HSMR-Net", multiple=HSMR_MULTIPLE,
                  remap_bands=remap_bands,
                  paper="HSMR-Net, hierarchical slice information interaction dehazing "
                        "(Xu et al.; github.com/xushouyi1/HSMR-Net)")  # fmt: skip
    register_arch("msff", MSFFConfig, MSFFNet, "SSDIE-Net MSFF", multiple=MSFF_MULTIPLE,
                  paper="SSDIE-Net, semi-supervised sand-dust image enhancement with an attention-driven "
                        "multi-scale feature fusion generator (Qadir, Bartani, Mohammed, Daneshfar; "
                        "github.com/bartani/SSDIE-Net)")  # fmt: skip
    from .clformer import MULTIPLE as CLFORMER_MULTIPLE
    from .clformer import CLformer, CLformerConfig
    from .nitedr_fusion import NiteDRFusion, NiteDRFusionConfig

    register_arch("clformer", CLformerConfig, CLformer, "NiteDR CLformer", multiple=CLFORMER_MULTIPLE,
                  paper="NiteDR, nighttime image de-raining with cleaning and fusion (Shi et al., TMM 2024; "
                        "arXiv 2402.18172; github.com/CidanShi/NiteDR-Nighttime-Image-De-raining), "
                        "stage 1 CleanNet")  # fmt: skip
    register_arch("nitedr_fusion", NiteDRFusionConfig, NiteDRFusion, "NiteDR FusionNet", multiple=1,
                  paper="NiteDR (Shi et al., TMM 2024; arXiv 2402.18172; "
                        "github.com/CidanShi/NiteDR-Nighttime-Image-De-raining), stage 2 FusionNet: "
                        "dense Y fuser + SCI-style BalanceModule")  # fmt: skip

    from .aca_crnet import MULTIPLE as ACA_MULTIPLE
    from .aca_crnet import ACACRNet, ACACRNetConfig

    register_arch("aca_crnet", ACACRNetConfig, ACACRNet, "ACA-CRNet", multiple=ACA_MULTIPLE,
                  paper="ACA-CRNet, cloud removal with attentive contextual attention on a DSen2-CR "
                        "backbone (Huang et al., TGRS 2024, arXiv 2411.13042; "
                        "github.com/huangwenwenlili/ACA-CRNet)")  # fmt: skip

    from .inpaint_sanet import MULTIPLE as INPAINT_SANET_MULTIPLE
    from .inpaint_sanet import InpaintSANet, InpaintSANetConfig
    from .pyramidal_gan import MULTIPLE as PYRAMIDAL_GAN_MULTIPLE
    from .pyramidal_gan import PyramidalGAN, PyramidalGANConfig

    register_arch("inpaint_sanet", InpaintSANetConfig, InpaintSANet, "InpaintSANet",
                  multiple=INPAINT_SANET_MULTIPLE,
                  paper="Context-based multi-scale unified network for missing data reconstruction in "
                        "remote sensing images, GRSL 2022 (the TGRS authors' predecessor; "
                        "github.com/Oliiveralien/Inpainting-on-RSI)")  # fmt: skip
    register_arch("pyramidal_gan", PyramidalGANConfig, PyramidalGAN, "Pyramidal GAN (TGRS)",
                  multiple=PYRAMIDAL_GAN_MULTIPLE,
                  paper="Efficient pyramidal GAN for versatile missing data reconstruction in remote "
                        "sensing images, TGRS (Shao, Wang, Zuo, Meng; code not released, "
                        "github.com/Oliiveralien/TGRS-SIMT); blocks below the abstract inferred")  # fmt: skip


_register_builtin()
