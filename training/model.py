"""The trained module around an architecture: what the loss sees and what ONNX export traces.

The architecture maps the stacked inputs to the output bands. For gap filling the wrapper first fills
the gaps by push-pull interpolation (``push_pull_fill``: parameter-free, exported with the model),
so the network refines a smooth estimate instead of inventing from zeros, and afterwards keeps the
valid pixels of the input and takes the network only inside the mask, so known data is never altered.
``ExportModel`` adds what the engine needs: one ONNX input per card input, the clamp to the card's
output range, and the mask output.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import TaskSpec


def _mask_channel(spec: TaskSpec) -> int | None:
    start = 0
    for inp in spec.inputs:
        if inp.role == "mask":
            return start
        start += len(inp.bands)
    return None


def push_pull_fill(image: torch.Tensor, valid: torch.Tensor, levels: int = 8) -> torch.Tensor:
    """Fill pixels where ``valid`` (B, 1, H, W) is 0 from their surroundings, coarse to fine.

    Push: average image and validity down a pyramid of 2x2 means. Pull: from the coarsest level up,
    each level keeps its own mean where it has valid pixels (weighted by their share) and takes the
    upsampled coarser estimate elsewhere (Gortler et al., "The Lumigraph", 1996). Valid pixels come
    back unchanged; any gap reachable within ``2**levels`` pixels gets a smooth value.
    """
    # Odd sizes are zero-padded (padding counts as neither valid nor present, ``cnt`` tracks what
    # is real): PyTorch and ONNX Runtime average partial ``ceil_mode`` windows differently.
    num, den, cnt = image * valid, valid, torch.ones_like(valid)
    pyramid = [(num, den, cnt)]
    for _ in range(levels):
        height, width = num.shape[-2:]
        pad = (0, width % 2, 0, height % 2)
        num, den, cnt = (F.avg_pool2d(F.pad(t, pad), 2) for t in (num, den, cnt))
        pyramid.append((num, den, cnt))
    estimate = num / den.clamp_min(1e-6)
    for num, den, cnt in reversed(pyramid[:-1]):
        coarse = F.interpolate(estimate, scale_factor=2.0, mode="bilinear", align_corners=False)
        coarse = coarse[..., : num.shape[-2], : num.shape[-1]]
        weight = (den / cnt.clamp_min(1e-6)).clamp(0.0, 1.0)
        estimate = weight * (num / den.clamp_min(1e-6)) + (1.0 - weight) * coarse
    return estimate


#: Share of training samples whose hard mask (mask and its validity plane) a staged gap-filling net
#: does not see, as for a raster with stripes written as values and no nodata: its own mask
#: estimate then decides, and is trained for that case.
HIDDEN_MASK_SHARE = 0.25


class RestorationModel(nn.Module):
    """``net`` plus the task's composition rule (mask compositing for gap filling).

    A *staged* net (``net.staged = True``: the pyramidal GAN) returns ``(coarse, refined, soft_mask)``
    and composites itself with the mask it used; the model returns ``refined`` and keeps the stages
    in ``self.stages`` for :func:`training.losses.staged_loss`. In training, ``HIDDEN_MASK_SHARE``
    of the samples are fed without their hard mask. A plain net with a mask input leaves its
    composited output as both stages (and no soft mask).
    """

    def __init__(self, net: nn.Module, spec: TaskSpec) -> None:
        super().__init__()
        self.net = net
        self.out_channels = spec.out_channels
        self.mask_channel = _mask_channel(spec) if spec.mask_output else None
        self.staged = bool(getattr(net, "staged", False))
        self.stages: dict[str, torch.Tensor] = {}

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        if self.staged:
            return self._staged(x)
        if self.mask_channel is None:
            return self._net(x, context)
        mask = x[:, self.mask_channel : self.mask_channel + 1]
        image = x[:, : self.out_channels]
        filled = push_pull_fill(image, 1.0 - mask)
        out = self._net(torch.cat([filled, x[:, self.out_channels :]], dim=1), context)
        out = image * (1.0 - mask) + out * mask
        # One stage (coarse = refined) for the masked L1 of ``staged_loss``; no soft mask.
        self.stages = {"coarse": out, "refined": out, "mask": mask}
        return out

    def _staged(self, x: torch.Tensor) -> torch.Tensor:
        mask = None
        if self.mask_channel is not None:
            k = self.mask_channel
            mask = x[:, k : k + 1]
            if self.training:
                hide = (torch.rand(x.shape[0], 1, 1, 1, device=x.device) < HIDDEN_MASK_SHARE).to(x.dtype)
                x = torch.cat([x[:, :k], x[:, k : k + 2] * (1.0 - hide), x[:, k + 2 :]], dim=1)
        coarse, refined, soft = self.net(x)
        self.stages = {"coarse": coarse, "refined": refined, "soft_mask": soft}
        if mask is not None:
            k = self.mask_channel
            flag = x[:, k + 1 : k + 2]
            self.stages["mask"] = mask  # the truth, also where it was hidden
            self.stages["used_mask"] = flag * x[:, k : k + 1] + (1.0 - flag) * soft
        else:
            self.stages["used_mask"] = soft
        return refined

    def _net(self, x: torch.Tensor, context: torch.Tensor | None) -> torch.Tensor:
        return self.net(x) if context is None else self.net(x, context)


class ExportModel(nn.Module):
    """One tensor per card input in (then the scene context, if one is declared), the restored
    image (and the mask) out, clamped if asked."""

    def __init__(self, model: RestorationModel, spec: TaskSpec) -> None:
        super().__init__()
        self.model = model
        self.images = len(spec.inputs)
        self.clamp = spec.clamp_output
        self.low, self.high = spec.output_range
        self.mask_channel = model.mask_channel

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        images = inputs[: self.images]
        context = inputs[self.images] if len(inputs) > self.images else None
        x = torch.cat(images, dim=1) if len(images) > 1 else images[0]
        out = self.model(x, context)
        if self.model.staged:
            # A staged net composited with its soft mask where no hard mask was known; the package
            # changes exactly the pixels its mask output names (soft mask above 0.5) and clamps only
            # those: valid pixels beyond the stretch's percentiles must come back unchanged.
            reconstructed = (self.model.stages["used_mask"] > 0.5).to(out.dtype)
            image = x[:, : self.model.out_channels]
            if self.clamp:
                out = out.clamp(self.low, self.high)
            out = image + (out - image) * reconstructed
            return (out, reconstructed) if self.mask_channel is not None else out
        if self.clamp:
            out = out.clamp(self.low, self.high)
        if self.mask_channel is None:
            return out
        return out, x[:, self.mask_channel : self.mask_channel + 1]
