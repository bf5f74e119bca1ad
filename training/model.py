"""The trained module around an architecture: what the loss sees and what ONNX export traces.

The architecture maps the stacked inputs to the output bands; for gap filling the wrapper keeps the
valid pixels of the input and takes the network only inside the mask, so known data is never altered.
``ExportModel`` adds what the engine needs: one ONNX input per card input, the clamp to the card's
output range, and the mask output.
"""

from __future__ import annotations

import torch
from torch import nn

from .config import TaskSpec


def _mask_channel(spec: TaskSpec) -> int | None:
    start = 0
    for inp in spec.inputs:
        if inp.role == "mask":
            return start
        start += len(inp.bands)
    return None


class RestorationModel(nn.Module):
    """``net`` plus the task's composition rule (mask compositing for gap filling)."""

    def __init__(self, net: nn.Module, spec: TaskSpec) -> None:
        super().__init__()
        self.net = net
        self.out_channels = spec.out_channels
        self.mask_channel = _mask_channel(spec) if spec.mask_output else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x)
        if self.mask_channel is not None:
            mask = x[:, self.mask_channel : self.mask_channel + 1]
            out = x[:, : self.out_channels] * (1.0 - mask) + out * mask
        return out


class ExportModel(nn.Module):
    """One tensor per card input in, the restored image (and the mask) out, clamped if asked."""

    def __init__(self, model: RestorationModel, spec: TaskSpec) -> None:
        super().__init__()
        self.model = model
        self.clamp = spec.clamp_output
        self.low, self.high = spec.output_range
        self.mask_channel = model.mask_channel

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat(inputs, dim=1) if len(inputs) > 1 else inputs[0]
        out = self.model(x)
        if self.clamp:
            out = out.clamp(self.low, self.high)
        if self.mask_channel is None:
            return out
        return out, x[:, self.mask_channel : self.mask_channel + 1]
