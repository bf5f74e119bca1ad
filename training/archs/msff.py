"""SSDIE-Net's generator: the attention-driven Multi-Scale Feature Fusion network (MSFF).

Semi-supervised sand-dust image enhancement (Qadir, Bartani, Mohammed, Daneshfar; reference code
github.com/bartani/SSDIE-Net, ``models/MSFF.py``). The network, as the authors' module builds it::

    x ──────────── E1 (4x4 s2, 4x4 s2) ──────── 128 @ H/4 ─┬──────────── D1_L1 (up x2) ─┐
    avgpool2(x) ── E2 (4x4 s2, 3x3) ─────────── 128 @ H/4 ─┼─ A1 = CrossScaleAttention(q=E1, kv=E2)
    avgpool4(x) ── E3_L1 (3x3) ── E3_L2 (3x3) ─ 128 @ H/4 ─┴─ A2 = CrossScaleAttention(q=E2, kv=E3_L2)

    D3_L1(A2) ─ cat E3_L1 ─ D3_L2 ─┐
    D2_L1(A1) ─────────────────── cat ─ D2_L2 (up x2) ─┐
                                      D1_L1(E1) ──── cat ─ D1_L2 (up x2) ─ cat x ─ FinalDecoder ─ tanh

Encoders use reflect-padded convolutions and LeakyReLU(0.2); decoder layers are transposed
convolutions with batch norm and LeakyReLU(0.2). ``MSFFConfig()`` (``features=64``) is the
published network: 1,006,023 parameters for RGB.

Deviations from the authors' code, and why:

* The authors add N(0, 0.01) noise to both attention outputs at inference too; it is left out
  (a restoration plugin must give the same output twice).
* ``forward`` reflect-pads the input to a multiple of 4 (two stride-2 steps) and crops back, so any
  tile size works; the authors feed 256 x 256 only.
* ``out_channels`` may differ from ``in_channels`` (the authors' head returns ``in_channels``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .padding import pad_to_multiple

#: Spatial multiple the network needs: two stride-2 steps down to the H/4 grid.
MULTIPLE = 4


@dataclass(frozen=True)
class MSFFConfig:
    """Widths of an MSFF generator; ``MSFFConfig()`` is the published one."""

    in_channels: int = 3
    out_channels: int = 3
    #: Base width: encoders end at ``2 * features`` channels, the decoder runs at ``features``.
    features: int = 64

    @classmethod
    def full(cls) -> MSFFConfig:
        return cls()

    @classmethod
    def lite(cls) -> MSFFConfig:
        """Every block of the paper at half the width (a quarter of the parameters)."""
        return cls(features=32)


def _conv(cin: int, cout: int, kernel: int, stride: int) -> nn.Sequential:
    """Reflect-padded convolution + LeakyReLU(0.2): the encoders' layer."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, padding=1, padding_mode="reflect"), nn.LeakyReLU(0.2)
    )


def _deconv(cin: int, cout: int, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    """Transposed convolution (3x3 s1 keeps the size, 4x4 s2 doubles it) + BN + LeakyReLU(0.2)."""
    return nn.Sequential(
        nn.ConvTranspose2d(cin, cout, kernel, stride, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.LeakyReLU(0.2),
    )


class CrossScaleAttention(nn.Module):
    """SAGAN-style attention whose query comes from one scale and keys/values from another.

    ``out = gamma * V(kv) @ softmax(Q(query)^T K(kv)) + query``, with ``Q``/``K`` 1x1 convolutions to
    ``C/8`` channels, ``V`` a 1x1 convolution to ``C``, and ``gamma`` a scalar that starts at 0 (the
    block starts as the identity of its query). Memory is ``(H W)^2`` for an ``H x W`` grid.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.query = nn.Conv2d(channels, channels // 8, 1)
        self.key = nn.Conv2d(channels, channels // 8, 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, query: torch.Tensor, kv: torch.Tensor) -> torch.Tensor:
        b, c, h, w = query.shape
        q = self.query(query).flatten(2).transpose(1, 2)  # (B, HW, C/8)
        k = self.key(kv).flatten(2)  # (B, C/8, HW)
        attention = torch.softmax(torch.bmm(q, k), dim=-1)  # (B, HW query, HW key)
        v = self.value(kv).flatten(2)  # (B, C, HW)
        out = torch.bmm(v, attention.transpose(1, 2)).view(b, c, h, w)
        return self.gamma * out + query


class FinalDecoder(nn.Module):
    """The last fusion: decoder features concatenated with the input image, four 3x3 transposed
    convolutions (``features`` -> ``features/2`` -> ``features/4`` -> out) and tanh."""

    def __init__(self, features: int, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            _deconv(features + in_channels, features),
            _deconv(features, features // 2),
            _deconv(features // 2, features // 4),
            nn.ConvTranspose2d(features // 4, out_channels, 3, 1, padding=1, bias=False),
            nn.Tanh(),
        )

    def forward(self, features: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        return self.layers(torch.cat([features, image], dim=1))


class MSFFNet(nn.Module):
    """The MSFF generator of SSDIE-Net (see the module docstring); input and output in [-1, 1]."""

    def __init__(self, config: MSFFConfig) -> None:
        super().__init__()
        self.config = config
        f, cin = config.features, config.in_channels
        self.E1 = nn.Sequential(_conv(cin, f, 4, 2), _conv(f, 2 * f, 4, 2))
        self.E2 = nn.Sequential(_conv(cin, f, 4, 2), _conv(f, 2 * f, 3, 1))
        self.E3_L1 = _conv(cin, f, 3, 1)
        self.E3_L2 = _conv(f, 2 * f, 3, 1)
        self.A1 = CrossScaleAttention(2 * f)
        self.A2 = CrossScaleAttention(2 * f)
        self.D3_L1 = _deconv(2 * f, f)
        self.D3_L2 = _deconv(2 * f, f)
        self.D2_L1 = _deconv(2 * f, f)
        self.D2_L2 = _deconv(2 * f, f, 4, 2)
        self.D1_L1 = _deconv(2 * f, f, 4, 2)
        self.D1_L2 = _deconv(2 * f, f, 4, 2)
        self.final = FinalDecoder(f, cin, config.out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        x = pad_to_multiple(x, MULTIPLE)
        e1 = self.E1(x)
        e2 = self.E2(F.avg_pool2d(x, 2))
        e3_l1 = self.E3_L1(F.avg_pool2d(x, 4))
        e3_l2 = self.E3_L2(e3_l1)
        a1 = self.A1(e1, e2)
        a2 = self.A2(e2, e3_l2)
        d3 = self.D3_L2(torch.cat([self.D3_L1(a2), e3_l1], dim=1))
        d2 = self.D2_L2(torch.cat([self.D2_L1(a1), d3], dim=1))
        d1 = self.D1_L2(torch.cat([self.D1_L1(e1), d2], dim=1))
        out = self.final(d1, x)
        return out[..., :height, :width]
