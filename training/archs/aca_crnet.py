"""ACA-CRNet: cloud removal with Attentive Contextual Attention (Huang et al., TGRS 2024;
arXiv 2411.13042; reference code github.com/huangwenwenlili/ACA-CRNet, ``models/ACA_CRNet.py`` and
``models/ca.py``, built on the DSen2-CR port github.com/Phoenix-Shen/DSEN2_CR_PYTORCH).

The network is DSen2-CR with two of its residual blocks replaced by attention blocks::

    x (SAR bands first, then optical) ─ head: 3x3 conv in -> F, ReLU
      ─ blocks 0 .. 15: ResBlock            y = x + 0.1 * conv(ReLU(conv(x)))          (bias-free)
                        ResBlockAtt (8, 12)  y = x + 0.1 * up2(ACAttention(ReLU(conv(ReLU(conv_s2(x))))))
      ─ tail: 3x3 conv F -> out
    out = x[:, sar:] + tail          (global skip over the optical bands only)

``ACAttention`` (the authors' ``ConAttn`` with ``ksize=1``) is dense attention over the H/2 x W/2
grid whose keys are the L2-normalised queries; each query position learns how far above its mean
score a key must be to take part (a weight w and a bias b from two small MLPs), and only those keys
share its softmax. ``ACACRNetConfig()`` is the published network: 20,397,831 parameters for RGB
(3 -> 3) and 20,448,529 for Sentinel-1 VV, VH + the 13 Sentinel-2 bands (15 -> 13).

Deviations from the authors' code, and why:

* ``ACAttention`` is written with batched matrix products (``bmm`` of queries and keys, ``bmm`` of
  attention and values) instead of the authors' loop over the batch with per-sample ``conv2d`` and
  ``conv_transpose2d`` whose filters are the input's own patches. With ``ksize=1`` the two are the
  same arithmetic; the batched form is faster, exports to a small ONNX graph and has no Python loop.
  The authors' ``escape_NaN`` floor (1e-4) on the key norm is kept.
* The authors' RICE training script applies ``tanh`` to the network's output outside the module;
  like the module itself (and its SEN12MS-CR use), this network returns ``x + net(x)`` unbounded.
  The task spec decides the output range (the export wrapper clamps where the spec asks).
* ``forward`` reflect-pads the input to a multiple of 2 (one stride-2 step) and crops back, so any
  tile size works; the authors feed 128 x 128 or 256 x 256 crops only.
* ``attention_blocks`` names the attention blocks by index (the authors hard-code
  ``num_layers // 2`` and ``num_layers * 3 // 4``, i.e. 8 and 12 of 16) so ``lite`` can keep them at
  the same relative depth with fewer blocks.

The layers inside each block keep the authors' names (``net.conv1``, ``net.att.linear_weight``, ...);
their top-level ``net.0`` / ``net.2+i`` / ``net.18`` are ``head.0`` / ``blocks.i`` / ``tail`` here.
Memory: one attention holds about five ``(H/2 * W/2)^2`` float maps per image at its peak (measured,
batch 1, in PyTorch and in ONNX Runtime: 0.33 GiB at a 128 px tile, 5.0-5.2 GiB at 256 px; 512 px
would need about 80 GiB), so tiles stay small: 160 px keeps it under 1 GB.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .padding import pad_to_multiple

#: Spatial multiple the network needs: one stride-2 step in each attention block.
MULTIPLE = 2


@dataclass(frozen=True)
class ACACRNetConfig:
    """Widths and depth of an ACA-CRNet; ``ACACRNetConfig()`` is the published network."""

    in_channels: int = 3
    out_channels: int = 3
    #: Leading SAR bands of the input (Sentinel-1 VV, VH: 2); the rest are the optical bands that the
    #: global skip adds to the output, so ``in_channels - sar_channels == out_channels``. ``None``:
    #: whatever the input has beyond the output bands (the task spec sets the channel counts).
    sar_channels: int | None = None
    #: Width of every residual block (DSen2-CR's "feature_sizes").
    features: int = 256
    #: Residual blocks (DSen2-CR's "num_layers").
    blocks: int = 16
    #: Indices of the blocks that are ``ResBlockAtt`` (the authors' ``num_layers // 2`` and ``* 3 // 4``).
    attention_blocks: tuple[int, ...] = (8, 12)
    #: Residual scaling of every block (DSen2-CR's alpha).
    alpha: float = 0.1

    def __post_init__(self) -> None:
        # A JSON or checkpoint round trip may give a list; the config stays hashable and comparable.
        object.__setattr__(self, "attention_blocks", tuple(int(i) for i in self.attention_blocks))
        if self.sar < 0 or self.in_channels - self.sar != self.out_channels:
            raise ValueError(
                f"ACA-CRNet adds its optical input bands to the output: in_channels ({self.in_channels})"
                f" - sar_channels ({self.sar}) must equal out_channels ({self.out_channels})"
            )
        if any(not 0 <= i < self.blocks for i in self.attention_blocks):
            raise ValueError(f"attention_blocks {self.attention_blocks} outside 0..{self.blocks - 1}")

    @property
    def sar(self) -> int:
        """The number of leading SAR bands."""
        return self.in_channels - self.out_channels if self.sar_channels is None else self.sar_channels

    @classmethod
    def full(cls) -> ACACRNetConfig:
        return cls()

    @classmethod
    def lite(cls) -> ACACRNetConfig:
        """Every block type of the paper, both attention blocks at the same relative depth, at an
        eighth of the width and half the depth (173 k parameters for RGB). A training step of batch 8
        costs about 1.5 CPU-seconds at 64 px crops; the attention grows as crop^4, so 128 px crops
        cost about 20 (two attention blocks of ~10 each), whatever the width."""
        return cls(features=32, blocks=8, attention_blocks=(4, 6))


def _mlp(channels: int, reduction: int = 4) -> nn.Sequential:
    """A per-position MLP (1x1 convolutions) from a query vector to one number: w or b."""
    return nn.Sequential(
        nn.Conv2d(channels, channels // reduction, 1), nn.LeakyReLU(0.2, True),
        nn.Conv2d(channels // reduction, 1, 1),
    )  # fmt: skip


class ACAttention(nn.Module):
    """Attentive Contextual Attention (the authors' ``ConAttn``, ``ksize=1``).

    For query positions i and key positions j of one image: ``s_ij = q_i . q_j / |q_j|``;
    ``sel_ij = ReLU(s_ij - w_i mean_j(s_ij) + b_i)`` keeps the keys well above the query's mean score;
    ``a_ij = max(softmax_j(s_ij sel_ij) [sel_ij > 0], 1e-8)`` (not renormalised: the dropped keys' share
    of the softmax is lost, as in the paper); ``out = LeakyReLU(conv3x3(sum_j a_ij v_j)) + x``.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.value = nn.Conv2d(channels, channels, 1)
        self.query = nn.Conv2d(channels, channels, 1)
        self.linear_weight = _mlp(channels)  # w_i: how far above the mean a key must score
        self.bias = _mlp(channels)  # b_i
        self.linear = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.LeakyReLU(0.2, True))

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """The (B, query, key) attention map of ``x``: what ``forward`` aggregates the values with."""
        query = self.query(x)
        weight = self.linear_weight(query).flatten(1).unsqueeze(-1)  # (B, N, 1)
        bias = self.bias(query).flatten(1).unsqueeze(-1)
        q = query.flatten(2)  # (B, C, N)
        keys = q / torch.sqrt((q * q).sum(1, keepdim=True)).clamp_min(1e-4)
        scores = torch.bmm(q.transpose(1, 2), keys)  # (B, N query, N key)
        selection = F.relu(scores - weight * scores.mean(-1, keepdim=True) + bias)
        attention = torch.softmax(scores * selection, dim=-1)
        return attention.masked_fill(selection <= 0, 0.0).clamp_min(1e-8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        value = self.value(x).flatten(2)  # (B, C, N)
        out = torch.bmm(value, self.attention(x).transpose(1, 2))  # (B, C, N query)
        return self.linear(out.reshape(x.shape)) + x


class ResBlock(nn.Module):
    """DSen2-CR's residual block: ``x + alpha * conv(ReLU(conv(x)))``, 3x3 convolutions without bias."""

    def __init__(self, features: int, alpha: float) -> None:
        super().__init__()
        self.alpha = alpha
        self.net = nn.Sequential()
        self.net.add_module("conv1", nn.Conv2d(features, features, 3, padding=1, bias=False))
        self.net.add_module("relu1", nn.ReLU(True))
        self.net.add_module("conv2", nn.Conv2d(features, features, 3, padding=1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.alpha * self.net(x)


class ResBlockAtt(nn.Module):
    """ACA-CRNet's attention block (the authors' ``ResBlock_att``): a stride-2 conv, ReLU, conv, ReLU,
    ``ACAttention`` on the H/2 grid, bilinear x2 (corners aligned) back, ``x + alpha * .``."""

    def __init__(self, features: int, alpha: float) -> None:
        super().__init__()
        self.alpha = alpha
        self.net = nn.Sequential()
        self.net.add_module("conv1", nn.Conv2d(features, features, 3, stride=2, padding=1, bias=False))
        self.net.add_module("relu1", nn.ReLU(True))
        self.net.add_module("conv2", nn.Conv2d(features, features, 3, padding=1, bias=False))
        self.net.add_module("relu2", nn.ReLU(True))
        self.net.add_module("att", ACAttention(features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.interpolate(self.net(x), scale_factor=2.0, mode="bilinear", align_corners=True)
        return x + self.alpha * out


class ACACRNet(nn.Module):
    """ACA-CRNet (see the module docstring): SAR bands (if any) then optical bands in, optical out."""

    def __init__(self, config: ACACRNetConfig) -> None:
        super().__init__()
        self.config = config
        f = config.features
        self.head = nn.Sequential(nn.Conv2d(config.in_channels, f, 3, padding=1), nn.ReLU(True))
        self.blocks = nn.Sequential(*(
            ResBlockAtt(f, config.alpha) if i in config.attention_blocks else ResBlock(f, config.alpha)
            for i in range(config.blocks)
        ))  # fmt: skip
        self.tail = nn.Conv2d(f, config.out_channels, 3, padding=1)
        self.apply(_init_weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        out = self.tail(self.blocks(self.head(pad_to_multiple(x, MULTIPLE))))[..., :height, :width]
        return x[:, self.config.sar :] + out


def _init_weights(module: nn.Module) -> None:
    """The authors' initialisation: Kaiming-uniform (fan in, ReLU) convolution weights, zero biases."""
    if isinstance(module, nn.Conv2d):
        nn.init.kaiming_uniform_(module.weight, mode="fan_in", nonlinearity="relu")
        if module.bias is not None:
            nn.init.zeros_(module.bias)
