"""A small residual U-Net: the generic restorer for tasks without a published architecture here.

Three levels (full, 1/2, 1/4 resolution), two 3x3 conv + ReLU blocks per level, no normalisation
layers (per-tile statistics would make seams in tiled inference), a global residual from the first
``out_channels`` input bands. Inputs are padded (edge pixels repeated, bottom and right) to a
multiple of 4 and cropped back, so any tile size works.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

MULTIPLE = 4


@dataclass(frozen=True)
class UNetConfig:
    in_channels: int = 3
    out_channels: int = 3
    width: int = 32
    #: Add the input's first ``out_channels`` bands to the output (restoration is near-identity).
    residual: bool = True

    @classmethod
    def lite(cls) -> UNetConfig:
        return cls(width=16)

    @classmethod
    def full(cls) -> UNetConfig:
        return cls(width=48)


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1), nn.LeakyReLU(0.1, inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1), nn.LeakyReLU(0.1, inplace=True),
    )  # fmt: skip


class UNet(nn.Module):
    """enc1 (w) -> enc2 (2w, /2) -> bottleneck (4w, /4) -> dec2 (2w) -> dec1 (w) -> 1x1 head."""

    def __init__(self, config: UNetConfig) -> None:
        super().__init__()
        self.config = config
        w = config.width
        self.enc1 = _block(config.in_channels, w)
        self.enc2 = _block(w, 2 * w)
        self.bottleneck = _block(2 * w, 4 * w)
        self.up2 = nn.ConvTranspose2d(4 * w, 2 * w, 2, stride=2)
        self.dec2 = _block(4 * w, 2 * w)
        self.up1 = nn.ConvTranspose2d(2 * w, w, 2, stride=2)
        self.dec1 = _block(2 * w, w)
        self.head = nn.Conv2d(w, config.out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        pad_h, pad_w = (-h) % MULTIPLE, (-w) % MULTIPLE
        padded = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        e1 = self.enc1(padded)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        b = self.bottleneck(F.max_pool2d(e2, 2))
        d2 = self.dec2(torch.cat([self.up2(b), e2], dim=1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], dim=1))
        out = self.head(d1)[..., :h, :w]
        if self.config.residual:
            out = out + x[:, : self.config.out_channels]
        return out
