"""HSMR-Net: Hierarchical Slice Information Interaction and Multi-layer Decoding Collaborative
Reconstruction dehazing network (Xu et al.; reference code github.com/xushouyi1/HSMR-Net, folder
``HSMD-Net/``, which names the blocks ``HIISM`` and ``MDCRM``).

The generator, block by block as in the authors' ``Model.py`` / ``innovatory_test2.py``::

    x ─ down1 (7x7, ngf, H) ─ down2 (s2, 2ngf, H/2) ─ down3 (s2, 4ngf, H/4)
          │                    │                      │
          │                    │                      ├─ n_blocks x ResnetBlock (BatchNorm) ─ CA ─ PA ─┐
          ├─ 5x5 s4 ─┐         ├─ 3x3 s2 ─┐           ├─ 1x1 ─┐                                       │
          │          └─────────┴── HSIIM (2x2 slices, per-level MLPs) ─ Redistribution ─ rx1, rx2, rx3   │
          │                    │                      │                                                │
    x6_1 = bottleneck + rx3 + down3 ── up1 (CA, PA) ── x6_2 = up1 + rx2 + down2 ── up2 (CA, PA)
    x6_3 = up2 + rx1 + down1;   MDCR(x6_1, x6_2) ─ MDCR(., x6_3) ─ 7x7 head ─ tanh

Deviations from the authors' code, and why:

* ``norm`` chooses the layer that the authors write as ``InstanceNorm2d`` (encoder, projections,
  redistribution, up-steps, MDCR). ``"instance"`` is the paper. Instance norm takes its statistics
  over the tile it sees, so a tiled run of a large raster differs from a whole-image run and shows
  seams; ``"batch"`` (fixed statistics at inference) and ``"none"`` are tile-invariant choices for the
  models the plugin ships. The ``ResnetBlock`` keeps its BatchNorm as in the paper.
* The 2x2 slice interaction is written as reshapes (``out = c * sum(a) * sum(b)`` per slice, which the
  authors' loop over channels reduces to exactly) instead of ``F.unfold``/``F.fold``: ``fold`` does
  not export to ONNX at opset 17.
* ``forward`` reflect-pads the input to a multiple of 8 (2x2 slices on the H/4 grid) and crops back,
  so any tile size works; the authors pad to 4 only. In eval mode the tanh output is clamped to
  [0, 1], the range of the target it was trained against.
* The fourth, unused MLP of the authors' ``HIISM`` is not built (64 parameters).
* ``attention_window`` replaces the global average pool of channel attention by a local mean over a
  ``window`` x ``window`` neighbourhood of the feature grid (``None``, the paper, pools globally).
  A global pool takes its statistics over whatever tile the engine feeds, so like instance norm it
  makes a tiled run depend on the tiling (docs/MODELS.md, "A third run", measures how much). A
  local window keeps the per-channel gating but makes the network translation-equivariant with a
  finite receptive field, which the engine's overlap must cover.
* ``head="affine"`` (the shipped lite model) replaces the tanh head by a per-pixel affine map of the
  input, ``J = (1 + k) * I + b`` with (k, b) from the same 7x7 conv (zero-initialised, so training
  starts from the identity). The scattering model ``I = J t + A (1 - t)`` is exactly such a map with
  smooth k and b, so fine detail passes straight from the input instead of through the decoder,
  which a tanh head must learn to reproduce. ``head="tanh"`` is the paper.
* ``context_features`` (not in the paper; 0 = the paper) adds :class:`SceneModulation`: a vector of
  statistics of the *whole raster* (the engine computes it as it computes the normalisation, see
  ``backend.model_card.SceneContext``) scales and shifts the bottleneck and the last decoder level
  and offsets the affine head. Every layer sees at most its receptive field, and within one window a
  clear scene's own dark floor and a thin haze are the same kind of change (an offset plus a loss of
  contrast), so without it the network cannot know how much haze the scene has. Zero-initialised:
  a checkpoint without it loads and starts from the same function.

:func:`remap_bands` carries trained weights to another band set (the multispectral model starts
from the RGB one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .padding import pad_to_multiple

#: Spatial multiple the network needs: 2x2 slices on the H/4 grid.
MULTIPLE = 8
NORMS = ("instance", "batch", "none")
HEADS = ("tanh", "affine")


@dataclass(frozen=True)
class HSMRConfig:
    """Widths and choices of an HSMR-Net; ``HSMRConfig()`` is the published generator."""

    in_channels: int = 3
    out_channels: int = 3
    #: Base width: the encoder runs at ngf, 2*ngf, 4*ngf channels.
    ngf: int = 64
    #: Residual blocks in the bottleneck.
    n_blocks: int = 6
    #: The authors' InstanceNorm layers: "instance" (paper), "batch" or "none" (tile-invariant).
    norm: str = "instance"
    #: Channel reduction of channel and pixel attention (FFA-Net uses 8).
    attention_reduction: int = 8
    #: Channels each of the 3x3/5x5/7x7 branches of the MDCR spatial gate produces.
    gate_channels: int = 8
    #: "tanh": the paper's 7x7 conv + tanh; "affine": J = (1 + k) * I + b (see the module docstring).
    head: str = "tanh"
    #: Channel attention pool: None = global (paper); an odd int = local mean over that window.
    attention_window: int | None = None
    #: Length of the scene statistics vector fed to :class:`SceneModulation`; 0 = none (paper).
    context_features: int = 0

    def __post_init__(self) -> None:
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {self.norm!r}")
        if self.ngf < self.attention_reduction or self.ngf % self.attention_reduction:
            raise ValueError("ngf must be a positive multiple of attention_reduction")
        if self.n_blocks < 0:
            raise ValueError("n_blocks must be >= 0")
        if self.head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {self.head!r}")
        window = self.attention_window
        if window is not None and (window < 1 or window % 2 == 0):
            raise ValueError(f"attention_window must be a positive odd size, got {self.attention_window}")
        if self.context_features < 0:
            raise ValueError("context_features must be >= 0")
        if self.head == "affine" and self.in_channels != self.out_channels:
            raise ValueError("the affine head maps each input band to itself: in_channels == out_channels")

    @classmethod
    def full(cls, norm: str = "instance") -> HSMRConfig:
        """The published generator (ngf 64, six residual blocks): 9.91 M parameters."""
        return cls(norm=norm)

    @classmethod
    def lite(
        cls, norm: str = "batch", head: str = "affine", attention_window: int | None = None
    ) -> HSMRConfig:
        """The same network at a quarter width and three residual blocks, trainable on a CPU."""
        return cls(ngf=16, n_blocks=3, norm=norm, head=head, attention_window=attention_window)


def _norm(kind: str, channels: int) -> nn.Module:
    """The layer standing where the authors write ``InstanceNorm2d``."""
    if kind == "instance":
        return nn.InstanceNorm2d(channels)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    return nn.Identity()


def _conv_norm_relu(conv: nn.Module, channels: int, norm: str) -> nn.Sequential:
    return nn.Sequential(conv, _norm(norm, channels), nn.ReLU(inplace=True))


# ---------------------------------------------------------------------------------------------
# Bottleneck and attention (pix2pix ResnetBlock, FFA-Net channel and pixel attention)
# ---------------------------------------------------------------------------------------------
class ResnetBlock(nn.Module):
    """Reflect-pad, 3x3 conv, BatchNorm, ReLU, reflect-pad, 3x3 conv, BatchNorm, plus the skip."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.BatchNorm2d(channels),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ChannelAttention(nn.Module):
    """Average pool, 1x1 C->C/r, ReLU, 1x1 C/r->C, sigmoid: one weight per channel.

    The pool is global (the paper) or, with ``window``, a local mean (one weight per channel and
    pixel), written as two 1-D pools so its cost grows with the window, not its square.
    """

    def __init__(self, channels: int, reduction: int = 8, window: int | None = None) -> None:
        super().__init__()
        pool: nn.Module = nn.AdaptiveAvgPool2d(1) if window is None else LocalMean(window)
        self.gate = nn.Sequential(
            pool,
            nn.Conv2d(channels, channels // reduction, 1), nn.ReLU(inplace=True),
            nn.Conv2d(channels // reduction, channels, 1), nn.Sigmoid(),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)


class LocalMean(nn.Module):
    """Mean over a ``window`` x ``window`` neighbourhood, over the pixels inside the image at edges."""

    def __init__(self, window: int) -> None:
        super().__init__()
        half = window // 2
        self.rows = nn.AvgPool2d((window, 1), stride=1, padding=(half, 0), count_include_pad=False)
        self.cols = nn.AvgPool2d((1, window), stride=1, padding=(0, half), count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cols(self.rows(x))


class PixelAttention(nn.Module):
    """1x1 C->C/r, ReLU, 1x1 C/r->1, sigmoid: one weight per pixel."""

    def __init__(self, channels: int, reduction: int = 8) -> None:
        super().__init__()
        self.gate = nn.Sequential(
            nn.Conv2d(channels, channels // reduction, 1), nn.ReLU(inplace=True),
            nn.Conv2d(channels // reduction, 1, 1), nn.Sigmoid(),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)


# ---------------------------------------------------------------------------------------------
# Hierarchical Slice Information Interaction Module (HSIIM; the authors' HIISM)
# ---------------------------------------------------------------------------------------------
class SliceMLP(nn.Module):
    """The per-level MLP applied to every 2x2 slice (a 4-vector): Linear 4->8, Linear 8->4, ReLU."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(4, 8, bias=False)
        self.fc2 = nn.Linear(8, 4, bias=False)

    def forward(self, slices: torch.Tensor) -> torch.Tensor:
        return F.relu(self.fc2(self.fc1(slices)))


def to_slices(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, H/2, W/2, 4): every channel cut into non-overlapping 2x2 slices.

    Written with reshape/permute (no ``unfold``) so it exports to ONNX with dynamic H and W.
    """
    b, c, h, w = x.shape
    x = x.reshape(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 2, 4, 3, 5)
    return x.reshape(b, c, h // 2, w // 2, 4)


def from_slices(slices: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`to_slices`: (B, C, H/2, W/2, 4) -> (B, C, H, W)."""
    b, c, hh, ww, _ = slices.shape
    x = slices.reshape(b, c, hh, ww, 2, 2).permute(0, 1, 2, 4, 3, 5)
    return x.reshape(b, c, hh * 2, ww * 2)


class HSIIM(nn.Module):
    """Slice interaction of the three encoder levels, already projected to ``channels`` at H/4.

    Each level gets its own 1x1 conv, then every 2x2 slice of every channel goes through that
    level's MLP, giving a, b, c for levels 1, 2, 3. The authors' loop combines each slice of level 3
    with the intra-layer autocorrelation and inter-layer cross-correlation of the others, which
    reduces exactly to ``out = c * sum(a) * sum(b)`` per slice.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.proj1 = nn.Conv2d(channels, channels, 1)
        self.proj2 = nn.Conv2d(channels, channels, 1)
        self.proj3 = nn.Conv2d(channels, channels, 1)
        self.mlp1 = SliceMLP()
        self.mlp2 = SliceMLP()
        self.mlp3 = SliceMLP()

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, x3: torch.Tensor) -> torch.Tensor:
        a = self.mlp1(to_slices(self.proj1(x1)))
        b = self.mlp2(to_slices(self.proj2(x2)))
        c = self.mlp3(to_slices(self.proj3(x3)))
        out = c * a.sum(dim=-1, keepdim=True) * b.sum(dim=-1, keepdim=True)
        return from_slices(out)


class Redistribution(nn.Module):
    """Re-project the HSIIM output (4ngf @ H/4) to the three decoder levels (H/4, H/2, H)."""

    def __init__(self, ngf: int, norm: str) -> None:
        super().__init__()
        c = 4 * ngf
        self.rx3 = _conv_norm_relu(nn.Conv2d(c, c, 1), c, norm)
        self.rx2 = _conv_norm_relu(
            nn.ConvTranspose2d(c, 2 * ngf, 3, stride=2, padding=2, dilation=2, output_padding=1),
            2 * ngf, norm,
        )  # fmt: skip
        self.rx1 = _conv_norm_relu(
            nn.ConvTranspose2d(c, ngf, 3, stride=4, padding=1, output_padding=3), ngf, norm
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.rx1(x), self.rx2(x), self.rx3(x)


# ---------------------------------------------------------------------------------------------
# Multi-layer Decoding Collaborative Reconstruction (MDCR; the authors' MDCRM)
# ---------------------------------------------------------------------------------------------
class MDCR(nn.Module):
    """Fuse a low-resolution decoder feature into its high-resolution neighbour under a spatial gate.

    The low-resolution input (``high_ch`` channels) is upsampled x2, the high-resolution one
    (``low_ch``) passes a 1x1 conv; both are concatenated and fused by a 1x1 conv to F. Parallel
    3x3/5x5/7x7 convs read F at three scales, a 1x1 conv and a norm give a one-channel map p, and
    the output is F * p.
    """

    def __init__(self, low_ch: int, high_ch: int, norm: str, gate_channels: int = 8) -> None:
        super().__init__()
        self.up = _conv_norm_relu(
            nn.ConvTranspose2d(high_ch, low_ch, 3, stride=2, padding=1, output_padding=1), low_ch, norm
        )
        self.lateral = _conv_norm_relu(nn.Conv2d(low_ch, low_ch, 1), low_ch, norm)
        self.fuse = _conv_norm_relu(nn.Conv2d(2 * low_ch, low_ch, 1), low_ch, norm)
        self.gate3 = nn.Conv2d(low_ch, gate_channels, 3, padding=1)
        self.gate5 = nn.Conv2d(low_ch, gate_channels, 5, padding=2)
        self.gate7 = nn.Conv2d(low_ch, gate_channels, 7, padding=3)
        self.gate = _conv_norm_relu(nn.Conv2d(3 * gate_channels, 1, 1), 1, norm)

    def forward(self, low_res: torch.Tensor, high_res: torch.Tensor) -> torch.Tensor:
        f = self.fuse(torch.cat([self.up(low_res), self.lateral(high_res)], dim=1))
        p = self.gate(torch.cat([self.gate3(f), self.gate5(f), self.gate7(f)], dim=1))
        return f * p


class UpStep(nn.Module):
    """Decoder up-step: ConvTranspose x2, norm, ReLU, then channel and pixel attention."""

    def __init__(self, in_ch: int, out_ch: int, norm: str, reduction: int, window: int | None = None) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _conv_norm_relu(
                nn.ConvTranspose2d(in_ch, out_ch, 3, stride=2, padding=1, output_padding=1), out_ch, norm
            ),
            ChannelAttention(out_ch, reduction, window),
            PixelAttention(out_ch, reduction),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


# ---------------------------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------------------------
class SceneModulation(nn.Module):
    """Scene statistics -> a per-channel scale and shift (FiLM) of feature maps, and a head offset.

    A two-layer MLP maps the context vector (N, K) to ``(1 + gamma, beta)`` for each map of
    ``film`` channels and to an offset of the ``shift`` head channels. The last layer starts at
    zero, so the block starts as the identity.
    """

    def __init__(self, features: int, film: tuple[int, ...], shift: int, hidden: int = 32) -> None:
        super().__init__()
        self.sizes = [c for channels in film for c in (channels, channels)] + [shift]
        self.mlp = nn.Sequential(nn.Linear(features, hidden), nn.ReLU(inplace=True),
                                 nn.Linear(hidden, sum(self.sizes)))
        nn.init.zeros_(self.mlp[2].weight)
        nn.init.zeros_(self.mlp[2].bias)

    def forward(self, context: torch.Tensor) -> tuple[list[tuple[torch.Tensor, torch.Tensor]], torch.Tensor]:
        """``[(scale, shift), ...]`` per FiLM map and the head offset, all (N, C, 1, 1)."""
        parts = torch.split(self.mlp(context)[:, :, None, None], self.sizes, dim=1)
        film = [(1.0 + parts[k], parts[k + 1]) for k in range(0, len(parts) - 1, 2)]
        return film, parts[-1]


class HSMRNet(nn.Module):
    """HSMR-Net generator: hazy image in [0, 1] -> clear image (clamped to [0, 1] in eval)."""

    def __init__(self, config: HSMRConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or HSMRConfig()
        ngf, norm, r, win = cfg.ngf, cfg.norm, cfg.attention_reduction, cfg.attention_window
        c1, c2, c3 = ngf, 2 * ngf, 4 * ngf

        # Encoder.
        self.down1 = _conv_norm_relu(
            nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(cfg.in_channels, c1, 7)), c1, norm
        )
        self.down2 = _conv_norm_relu(nn.Conv2d(c1, c2, 3, stride=2, padding=1), c2, norm)
        self.down3 = _conv_norm_relu(nn.Conv2d(c2, c3, 3, stride=2, padding=1), c3, norm)

        # Bottleneck.
        self.bottleneck = nn.Sequential(
            *(ResnetBlock(c3) for _ in range(cfg.n_blocks)),
            ChannelAttention(c3, r, win),
            PixelAttention(c3, r),
        )

        # HSIIM: every encoder level projected to c3 @ H/4, slice interaction, redistribution.
        self.project1 = _conv_norm_relu(nn.Conv2d(c1, c3, 5, stride=4, padding=2), c3, norm)
        self.project2 = _conv_norm_relu(nn.Conv2d(c2, c3, 3, stride=2, padding=1), c3, norm)
        self.project3 = _conv_norm_relu(nn.Conv2d(c3, c3, 1), c3, norm)
        self.hsiim = HSIIM(c3)
        self.redistribute = Redistribution(ngf, norm)

        # Decoder with additive skips, then the two MDCRs and the head.
        self.up1 = UpStep(c3, c2, norm, r, win)
        self.up2 = UpStep(c2, c1, norm, r, win)
        self.mdcr1 = MDCR(c2, c3, norm, cfg.gate_channels)
        self.mdcr2 = MDCR(c1, c2, norm, cfg.gate_channels)
        if cfg.head == "tanh":
            self.head = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(c1, cfg.out_channels, 7), nn.Tanh())
        else:
            self.head = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(c1, 2 * cfg.out_channels, 7))
            nn.init.zeros_(self.head[1].weight)
            nn.init.zeros_(self.head[1].bias)
        head_channels = cfg.out_channels * (2 if cfg.head == "affine" else 1)
        self.scene = (SceneModulation(cfg.context_features, (c3, c1), head_channels)
                      if cfg.context_features else None)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """``x`` (N, C, H, W); ``context`` (N, context_features) when the config asks for it."""
        h, w = x.shape[-2:]
        x = pad_to_multiple(x, MULTIPLE)
        film = offset = None
        if self.scene is not None:
            if context is None or context.shape[-1] != self.config.context_features:
                raise ValueError(
                    f"this HSMR-Net needs a scene context of {self.config.context_features} values")
            film, offset = self.scene(context)

        d1 = self.down1(x)
        d2 = self.down2(d1)
        d3 = self.down3(d2)
        bottleneck = self.bottleneck(d3)
        if film is not None:
            bottleneck = bottleneck * film[0][0] + film[0][1]

        slices = self.hsiim(self.project1(d1), self.project2(d2), self.project3(d3))
        rx1, rx2, rx3 = self.redistribute(slices)

        x6_1 = bottleneck + rx3 + d3
        x6_2 = self.up1(x6_1) + rx2 + d2
        x6_3 = self.up2(x6_2) + rx1 + d1
        if film is not None:
            x6_3 = x6_3 * film[1][0] + film[1][1]
        out = self.head(self.mdcr2(self.mdcr1(x6_1, x6_2), x6_3))
        if offset is not None:
            out = out + offset  # a scene-wide change of the head's (k, b)
        if self.config.head == "affine":
            k, b = out.chunk(2, dim=1)
            out = (1.0 + k) * x + b

        out = out[..., :h, :w]
        return out if self.training else out.clamp(0.0, 1.0)


def remap_bands(state: dict[str, torch.Tensor], sources: Sequence[int], fresh: Sequence[bool],
                config: HSMRConfig) -> dict[str, torch.Tensor]:
    """Weights of a trained HSMR-Net for another set of bands: a warm start, not a new model.

    Band ``i`` of the new network takes the stem column and head rows of old band ``sources[i]``;
    a ``fresh`` band (one the old network never saw) starts with a zero stem column, so at step 0 the
    new network treats the old bands exactly as the old one did and produces the new band with the
    head of its source band (with the affine head: the same gain and offset applied to the new band).
    """
    out = dict(state)
    stem = state["down1.0.1.weight"]
    columns = [torch.zeros_like(stem[:, 0]) if new else stem[:, k]
               for k, new in zip(sources, fresh, strict=True)]
    out["down1.0.1.weight"] = torch.stack(columns, dim=1)
    old = state["head.1.weight"].shape[0] // (2 if config.head == "affine" else 1)
    rows = list(sources)
    if config.head == "affine":  # (k, b) halves: gains of every band, then offsets
        rows = rows + [old + k for k in sources]
    for key in ("head.1.weight", "head.1.bias"):
        out[key] = state[key][rows].clone()
    return out


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters, the figure reported in the model card."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
