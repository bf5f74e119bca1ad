"""A two-layer convolutional network: fast enough for tests and CI smoke runs, nothing more."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class TinyConfig:
    in_channels: int = 3
    out_channels: int = 3
    width: int = 8

    @classmethod
    def lite(cls) -> TinyConfig:
        return cls()

    @classmethod
    def full(cls) -> TinyConfig:
        return cls(width=32)


class TinyNet(nn.Module):
    """conv3x3 -> ReLU -> conv3x3, plus the input's first ``out_channels`` bands as a residual."""

    def __init__(self, config: TinyConfig) -> None:
        super().__init__()
        self.config = config
        self.body = nn.Sequential(
            nn.Conv2d(config.in_channels, config.width, 3, padding=1, padding_mode="replicate"),
            nn.ReLU(inplace=True),
            nn.Conv2d(config.width, config.out_channels, 3, padding=1, padding_mode="replicate"),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = x[:, : self.config.out_channels]
        if skip.shape[1] < self.config.out_channels:
            skip = torch.zeros_like(skip[:, :1]).expand(-1, self.config.out_channels, -1, -1)
        return skip + self.body(x)
