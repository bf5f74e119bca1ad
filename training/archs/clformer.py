"""NiteDR's CleanNet: CLformer, the de-raining stage of night de-raining with infrared fusion.

NiteDR (Shi et al., TMM 2024, arXiv 2402.18172; reference code
github.com/CidanShi/NiteDR-Nighttime-Image-De-raining, ``basicsr/models/archs/CLformer_arch.py``).
A Restormer U-shape whose attention keeps only the strongest channel affinities, with an
attention-gated mixture of operations before the encoder and after the decoder::

    x ─ 3x3 embed (C) ─ AgMoE ─ enc1 (n1 x TB, C) ───────────────────────────── cat ─ dec1 (n1 x TB, 2C)
                                  └ down ─ enc2 (n2, 2C) ──────────── cat 1x1 ─ dec2 ─ up ┘       │
                                             └ down ─ enc3 (n3, 4C) ─ cat 1x1 ─ dec3 ─ up ┘      AgMoE (2C)
                                                        └ down ─ latent (n4, 8C) ─ up ┘           3x3 ─ + x

Each transformer block (TB) is ``x + TSSA(LN(x))`` then ``x + MDFFN(LN(x))``:

* **TSSA** (Top-selection Self-Attention): Restormer's transposed attention (a C x C channel
  affinity per head, linear in H x W), where four copies of each affinity row keep only their top
  k = C/2, 2C/3, 3C/4 and 4C/5 entries before the softmax; the four results are mixed by learnable
  scalars (initialised at 0.2).
* **MDFFN** (mixed-scale depthwise feed-forward): a 1x1 to twice the hidden width, parallel
  depthwise 3x3 and 5x5 with ReLU, halves of each crossed into two branches, a depthwise 3x3 and a
  depthwise 5x5 back to the hidden width, a 1x1 out.
* **AgMoE** (attention-gated mixture of experts): an MLP on the pooled features predicts softmax
  weights over 8 operations (separable convs 1/3/5/7, dilated convs 3/5/7, 3x3 average pool) for
  each of 4 steps; each step mixes the weighted operations with a 1x1 conv and adds a residual.

Resampling is PixelUnshuffle / PixelShuffle around a 3x3 conv. ``CLformerConfig()`` is the
published network (dim 48, blocks 4/6/6/8, heads 1/2/4/8, FFN expansion 2.66, no conv bias,
LayerNorm with bias): 33,655,424 parameters for RGB, the same as the authors' module (33.66 M).

Deviations from the authors' code, and why:

* The four top-k selections come from one sorted ``topk`` at the largest k (the first k entries of
  it are the top k), and the mixed attention matrix multiplies the values once:
  ``sum_i w_i (A_i V) = (sum_i w_i A_i) V``. Same function, a quarter of the value products.
  The k are computed with integer division (``2 * C // 3``), equal to the authors' ``int(C * 2/3)``.
* ``forward`` reflect-pads the input to a multiple of 8 (three 2x resamplings) and crops back, as
  the authors' test script does outside the network, so any tile size works.
* The residual adds the first ``out_channels`` input bands, so extra guide bands may be stacked
  after the image (``in_channels >= out_channels``); 3 -> 3 is the paper.
* Weights and activations are kept channels-last (a memory layout only), which halves a CPU
  training step.
* The AgMoE gate pools over the whole input, as in the paper: the operation weights depend on the
  tile the engine feeds, so tiles should be large and overlapped (the rest of the network is local
  or channel-wise per pixel, apart from the transposed attention's H x W sums).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .padding import pad_to_multiple

#: Spatial multiple the network needs: three 2x PixelUnshuffle steps.
MULTIPLE = 8
NORMS = ("withbias", "biasfree")
#: The AgMoE candidate operations, in the authors' order.
OPERATIONS = ("sep_conv_1x1", "sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7",
              "dil_conv_3x3", "dil_conv_5x5", "dil_conv_7x7", "avg_pool_3x3")  # fmt: skip


@dataclass(frozen=True)
class CLformerConfig:
    """Widths and depths of a CLformer; ``CLformerConfig()`` is the published CleanNet."""

    in_channels: int = 3
    out_channels: int = 3
    #: Width of level 1; levels 2-4 run at 2, 4, 8 times it (the decoder's level 1 at 2 times).
    dim: int = 48
    #: Transformer blocks per level (encoder 1-3, latent); the decoder repeats levels 1-3.
    num_blocks: tuple[int, int, int, int] = (4, 6, 6, 8)
    #: Attention heads per level.
    heads: tuple[int, int, int, int] = (1, 2, 4, 8)
    #: MDFFN hidden width = int(width * ffn_expansion).
    ffn_expansion: float = 2.66
    #: Bias in the transformer's convolutions (the paper has none).
    bias: bool = False
    #: LayerNorm over channels per pixel: "withbias" (the paper) or "biasfree".
    norm: str = "withbias"
    #: AgMoE steps (operation layers) in the stem and the tail.
    agmoe_steps: int = 4

    def __post_init__(self) -> None:
        object.__setattr__(self, "num_blocks", tuple(self.num_blocks))
        object.__setattr__(self, "heads", tuple(self.heads))
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {self.norm!r}")
        if self.in_channels < self.out_channels:
            raise ValueError("in_channels must be >= out_channels (the residual adds the first bands)")
        for level, heads in enumerate(self.heads):
            if (self.dim * 2**level) % heads:
                width = self.dim * 2**level
                raise ValueError(f"level {level + 1} width {width} is not divisible by {heads} heads")

    @classmethod
    def full(cls) -> CLformerConfig:
        return cls()

    @classmethod
    def lite(cls) -> CLformerConfig:
        """Every block of the paper at a sixth of the width, one or two transformer blocks per level
        and two AgMoE steps (for CPU training on 128 px crops). The AgMoE's eight operations at full
        resolution, the tail's at twice the width, cost most of a step (their depthwise and dilated
        convolutions' backward passes on CPU), so width and steps are cut hardest there."""
        return cls(dim=8, num_blocks=(1, 1, 1, 2), heads=(1, 1, 2, 4), agmoe_steps=2)


class LayerNorm2d(nn.Module):
    """LayerNorm over the channels of each pixel; ``bias=False`` is the authors' BiasFree variant
    (which also skips the mean subtraction)."""

    def __init__(self, channels: int, bias: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(channels, 1, 1)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        variance = x.var(1, keepdim=True, unbiased=False)
        if self.bias is None:
            return x / torch.sqrt(variance + 1e-5) * self.weight
        return (x - x.mean(1, keepdim=True)) / torch.sqrt(variance + 1e-5) * self.weight + self.bias


def top_k_sizes(channels: int) -> tuple[int, int, int, int]:
    """The four top-selection sizes of a ``channels`` x ``channels`` affinity: C/2, 2C/3, 3C/4, 4C/5."""
    return channels // 2, 2 * channels // 3, 3 * channels // 4, 4 * channels // 5


def top_selection_masks(attention: torch.Tensor, sizes: Sequence[int]) -> list[torch.Tensor]:
    """One 0/1 mask per size in ``sizes`` (ascending), keeping the top-k entries of each last-axis row.

    One sorted ``topk`` at the largest k serves all sizes; ``scatter`` marks exactly k entries per row
    (a threshold on the k-th value would keep ties too). Both export to ONNX (TopK, ScatterElements).
    """
    index = attention.topk(max(sizes), dim=-1, largest=True, sorted=True).indices
    zeros = torch.zeros_like(attention)
    return [zeros.scatter(-1, index[..., :k], 1.0) for k in sizes]


class TopSelectionAttention(nn.Module):
    """Top-selection Self-Attention (TSSA): transposed (channel) attention with top-k masked rows.

    q, k, v come from a 1x1 then a depthwise 3x3 conv; per head, ``A = normalize(q) normalize(k)^T *
    temperature`` is a C x C affinity. For each k in :func:`top_k_sizes` the row keeps its top k
    entries (the rest go to -inf) and is soft-maxed; the four results are mixed by learnable
    scalars ``mix`` (initialised at 0.2) and applied to v.
    """

    def __init__(self, dim: int, heads: int, bias: bool) -> None:
        super().__init__()
        self.heads = heads
        self.sizes = top_k_sizes(dim // heads)
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.qkv = nn.Conv2d(dim, dim * 3, 1, bias=bias)
        self.qkv_dwconv = nn.Conv2d(dim * 3, dim * 3, 3, padding=1, groups=dim * 3, bias=bias)
        self.project_out = nn.Conv2d(dim, dim, 1, bias=bias)
        self.mix = nn.Parameter(torch.full((len(self.sizes),), 0.2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv_dwconv(self.qkv(x)).chunk(3, dim=1)
        q, k, v = (t.reshape(b, self.heads, c // self.heads, h * w) for t in (q, k, v))
        q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
        attention = (q @ k.transpose(-2, -1)) * self.temperature  # (B, heads, C/heads, C/heads)
        mixed = torch.zeros_like(attention)
        for i, mask in enumerate(top_selection_masks(attention, self.sizes)):
            selected = attention.masked_fill(mask == 0, float("-inf")).softmax(dim=-1)
            mixed = mixed + self.mix[i] * selected
        out = (mixed @ v).reshape(b, c, h, w)
        return self.project_out(out)


class MDFFN(nn.Module):
    """The mixed-scale depthwise feed-forward network (the authors' ``FeedForward``)."""

    def __init__(self, dim: int, expansion: float, bias: bool) -> None:
        super().__init__()
        hidden = int(dim * expansion)
        self.project_in = nn.Conv2d(dim, hidden * 2, 1, bias=bias)
        self.dwconv3x3 = nn.Conv2d(hidden * 2, hidden * 2, 3, padding=1, groups=hidden * 2, bias=bias)
        self.dwconv5x5 = nn.Conv2d(hidden * 2, hidden * 2, 5, padding=2, groups=hidden * 2, bias=bias)
        # Grouped (2 inputs per group) back to the hidden width: one branch at 3x3, one at 5x5.
        self.dwconv3x3_1 = nn.Conv2d(hidden * 2, hidden, 3, padding=1, groups=hidden, bias=bias)
        self.dwconv5x5_1 = nn.Conv2d(hidden * 2, hidden, 5, padding=2, groups=hidden, bias=bias)
        self.project_out = nn.Conv2d(hidden * 2, dim, 1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.project_in(x)
        x1_3, x2_3 = F.relu(self.dwconv3x3(x)).chunk(2, dim=1)
        x1_5, x2_5 = F.relu(self.dwconv5x5(x)).chunk(2, dim=1)
        x1 = F.relu(self.dwconv3x3_1(torch.cat([x1_3, x1_5], dim=1)))
        x2 = F.relu(self.dwconv5x5_1(torch.cat([x2_3, x2_5], dim=1)))
        return self.project_out(torch.cat([x1, x2], dim=1))


class TransformerBlock(nn.Module):
    """``x + TSSA(LN(x))`` then ``x + MDFFN(LN(x))``."""

    def __init__(self, dim: int, heads: int, expansion: float, bias: bool, norm: str) -> None:
        super().__init__()
        self.norm1 = LayerNorm2d(dim, bias=norm == "withbias")
        self.attn = TopSelectionAttention(dim, heads, bias)
        self.norm2 = LayerNorm2d(dim, bias=norm == "withbias")
        self.ffn = MDFFN(dim, expansion, bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.ffn(self.norm2(x))


class SepConv(nn.Module):
    """Separable conv operation (DARTS style, no norm): (depthwise k x k, 1x1) twice, ReLU between."""

    def __init__(self, channels: int, kernel: int) -> None:
        super().__init__()
        pad = kernel // 2
        self.op = nn.Sequential(
            nn.Conv2d(channels, channels, kernel, padding=pad, groups=channels, bias=False),
            nn.Conv2d(channels, channels, 1, bias=False),
            nn.ReLU(),
            nn.Conv2d(channels, channels, kernel, padding=pad, groups=channels, bias=False),
            nn.Conv2d(channels, channels, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class DilConv(nn.Module):
    """Dilated conv operation: depthwise k x k at dilation 2, then 1x1."""

    def __init__(self, channels: int, kernel: int) -> None:
        super().__init__()
        self.op = nn.Sequential(
            nn.Conv2d(channels, channels, kernel, padding=kernel - 1, dilation=2, groups=channels,
                      bias=False),
            nn.Conv2d(channels, channels, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


def _operation(name: str, channels: int) -> nn.Module:
    kind, kernel = name.rsplit("_", 1)
    size = int(kernel.split("x")[0])
    if kind == "sep_conv":
        return SepConv(channels, size)
    if kind == "dil_conv":
        return DilConv(channels, size)
    return nn.AvgPool2d(size, stride=1, padding=size // 2, count_include_pad=False)


class OperationAttention(nn.Module):
    """The AgMoE gate (the authors' ``OALayer``): global average pool, a two-layer MLP, softmax
    weights over the operations for each step, shape (B, steps, operations)."""

    def __init__(self, channels: int, steps: int, operations: int) -> None:
        super().__init__()
        self.steps, self.operations = steps, operations
        hidden = 2 * steps * operations
        self.fc = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, steps * operations))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.fc(x.mean(dim=(2, 3)))
        return logits.view(-1, self.steps, self.operations).softmax(dim=-1)


class OperationLayer(nn.Module):
    """One AgMoE step: every operation weighted by its gate, concatenated, 1x1 conv + ReLU."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.ops = nn.ModuleList(_operation(name, channels) for name in OPERATIONS)
        self.fuse = nn.Sequential(nn.Conv2d(channels * len(OPERATIONS), channels, 1, bias=False), nn.ReLU())

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        states = [op(x) * weights[:, i].view(-1, 1, 1, 1) for i, op in enumerate(self.ops)]
        return self.fuse(torch.cat(states, dim=1))


class AgMoE(nn.Module):
    """Attention-gated Mixture of Experts (the authors' ``subnet``): the gate reads the input once;
    a 1x1 conv + ReLU, then ``steps`` operation layers, each ``relu(layer(s) + s)``."""

    def __init__(self, channels: int, steps: int = 4) -> None:
        super().__init__()
        self.gate = OperationAttention(channels, steps, len(OPERATIONS))
        self.preprocess = nn.Sequential(nn.Conv2d(channels, channels, 1, bias=False), nn.ReLU())
        self.layers = nn.ModuleList(OperationLayer(channels) for _ in range(steps))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = self.gate(x)
        s = self.preprocess(x)
        for step, layer in enumerate(self.layers):
            s = F.relu(layer(s, weights[:, step]) + s)
        return s


class Downsample(nn.Module):
    """3x3 conv to half the width, PixelUnshuffle(2): half the size, twice the width."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels // 2, 3, padding=1, bias=False), nn.PixelUnshuffle(2)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class Upsample(nn.Module):
    """3x3 conv to twice the width, PixelShuffle(2): twice the size, half the width."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels * 2, 3, padding=1, bias=False), nn.PixelShuffle(2)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class CLformer(nn.Module):
    """NiteDR's CleanNet (see the module docstring); RGB in [0, 1] in, de-rained RGB out."""

    def __init__(self, config: CLformerConfig) -> None:
        super().__init__()
        self.config = config
        c, n, heads = config.dim, config.num_blocks, config.heads

        def level(width: int, blocks: int, level_heads: int) -> nn.Sequential:
            return nn.Sequential(*(TransformerBlock(width, level_heads, config.ffn_expansion, config.bias,
                                                    config.norm) for _ in range(blocks)))  # fmt: skip

        self.patch_embed = nn.Conv2d(config.in_channels, c, 3, padding=1, bias=False)
        self.encoder_level0 = AgMoE(c, config.agmoe_steps)
        self.encoder_level1 = level(c, n[0], heads[0])
        self.down1_2 = Downsample(c)
        self.encoder_level2 = level(2 * c, n[1], heads[1])
        self.down2_3 = Downsample(2 * c)
        self.encoder_level3 = level(4 * c, n[2], heads[2])
        self.down3_4 = Downsample(4 * c)
        self.latent = level(8 * c, n[3], heads[3])
        self.up4_3 = Upsample(8 * c)
        self.reduce_chan_level3 = nn.Conv2d(8 * c, 4 * c, 1, bias=config.bias)
        self.decoder_level3 = level(4 * c, n[2], heads[2])
        self.up3_2 = Upsample(4 * c)
        self.reduce_chan_level2 = nn.Conv2d(4 * c, 2 * c, 1, bias=config.bias)
        self.decoder_level2 = level(2 * c, n[1], heads[1])
        self.up2_1 = Upsample(2 * c)
        # Level 1 of the decoder keeps the concatenation's 2C channels (no 1x1 reduction).
        self.decoder_level1 = level(2 * c, n[0], heads[0])
        self.refinement = AgMoE(2 * c, config.agmoe_steps)
        self.output = nn.Conv2d(2 * c, config.out_channels, 3, padding=1, bias=config.bias)
        # Channels-last weights and activations: on CPU the many depthwise and dilated convolutions
        # run about twice as fast (oneDNN); the function and the exported graph are unchanged.
        self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        x = pad_to_multiple(x, MULTIPLE)
        x = x.contiguous(memory_format=torch.channels_last)
        enc1 = self.encoder_level1(self.encoder_level0(self.patch_embed(x)))
        enc2 = self.encoder_level2(self.down1_2(enc1))
        enc3 = self.encoder_level3(self.down2_3(enc2))
        latent = self.latent(self.down3_4(enc3))
        dec3 = self.decoder_level3(self.reduce_chan_level3(torch.cat([self.up4_3(latent), enc3], dim=1)))
        dec2 = self.decoder_level2(self.reduce_chan_level2(torch.cat([self.up3_2(dec3), enc2], dim=1)))
        dec1 = self.decoder_level1(torch.cat([self.up2_1(dec2), enc1], dim=1))
        out = self.output(self.refinement(dec1)) + x[:, : self.config.out_channels]
        return out[..., :height, :width]
