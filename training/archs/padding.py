"""Padding an input up to the spatial multiple a network needs (cropped back after the network)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad the bottom and right of ``x`` so H and W are multiples of ``multiple``: reflected, or
    replicated where the input is smaller than the multiple (reflection cannot pad that far).

    Always pads (possibly by 0), without a branch on whether padding is needed: a traced ONNX graph
    then computes the padding from the input's shape and runs at any size.
    """
    height, width = x.shape[-2:]
    mode = "reflect" if height >= multiple and width >= multiple else "replicate"
    return F.pad(x, (0, (-width) % multiple, 0, (-height) % multiple), mode=mode)
