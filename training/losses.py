"""Losses: pixel (L1, SmoothL1), structural (SSIM, MS-SSIM) and adversarial.

``build_loss({"smooth_l1": 2.5, "ms_ssim": 0.5})`` returns a callable giving the weighted total and
each term, so the loop logs them separately. Structural terms enter as ``1 - SSIM`` (a loss that is
0 for a perfect output). ``FUSION_LOSSES`` compare no target: they read the tensors a network keeps
in its ``loss_inputs`` (NiteDR's fusion stage, which has no ground truth). There is no perceptual
loss: it needs ImageNet weights, which cannot be downloaded here or on users' machines.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

#: Default MS-SSIM scale weights (Wang et al. 2003).
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _gaussian_window(size: int, sigma: float, channels: int, like: torch.Tensor) -> torch.Tensor:
    coords = torch.arange(size, dtype=like.dtype, device=like.device) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(channels, 1, size, size).contiguous()


def _ssim_terms(
    x: torch.Tensor, y: torch.Tensor, data_range: float, window: int, sigma: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image mean SSIM and contrast-structure term (B,), valid convolution (no padding)."""
    channels = x.shape[1]
    size = min(window, x.shape[-2], x.shape[-1])
    w = _gaussian_window(size, sigma * size / window, channels, x)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2

    def filt(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, w, groups=channels)

    mu_x, mu_y = filt(x), filt(y)
    sxx = filt(x * x) - mu_x**2
    syy = filt(y * y) - mu_y**2
    sxy = filt(x * y) - mu_x * mu_y
    cs = (2 * sxy + c2) / (sxx + syy + c2)
    ssim = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1) * cs
    return ssim.flatten(1).mean(1), cs.flatten(1).mean(1)


def ssim(
    x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0, window: int = 11, sigma: float = 1.5
) -> torch.Tensor:
    """Mean SSIM over the batch (Gaussian 11x11, sigma 1.5, as in the reference implementation)."""
    return _ssim_terms(x.float(), y.float(), data_range, window, sigma)[0].mean()


def ms_ssim_scales(size: int, window: int = 11, max_scales: int = 5) -> int:
    """How many scales fit: each halving must leave at least one ``window`` (>= 1 scale)."""
    scales = 1
    while scales < max_scales and size // 2**scales >= window:
        scales += 1
    return scales


def ms_ssim(
    x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0, window: int = 11, sigma: float = 1.5
) -> torch.Tensor:
    """Multi-scale SSIM with as many scales as the crop allows (weights renormalised).

    A 256 crop gets the standard 5 scales; a 64 crop gets 3 instead of failing. Contrast-structure
    terms are clamped at 0 before the power (as in ``pytorch_msssim``'s ``normalize`` option) so the
    product stays defined early in training.
    """
    x, y = x.float(), y.float()
    scales = ms_ssim_scales(min(x.shape[-2:]), window)
    weights = torch.tensor(MS_SSIM_WEIGHTS[:scales], device=x.device)
    weights = weights / weights.sum()
    values = []
    for i in range(scales):
        s, cs = _ssim_terms(x, y, data_range, window, sigma)
        values.append(torch.relu(s if i == scales - 1 else cs))
        if i < scales - 1:
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
    stacked = torch.stack(values, dim=0)  # (scales, B)
    return torch.prod(stacked.clamp_min(1e-6) ** weights[:, None], dim=0).mean()


LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

LOSSES: dict[str, LossFn] = {
    "l1": F.l1_loss,
    "smooth_l1": F.smooth_l1_loss,
    "mse": F.mse_loss,
    "ssim": lambda x, y: 1.0 - ssim(x, y),
    "ms_ssim": lambda x, y: 1.0 - ms_ssim(x, y),
}


#: Losses on the stages of a staged net (``RestorationModel.stages``), not on ``(pred, target)``:
#: ``masked_l1`` the GRSL letter's hole/valid-normalised L1 on the coarse and refined outputs,
#: ``mask_bce`` the binary cross-entropy of the estimated soft mask against the true mask.
STAGED_LOSSES = ("masked_l1", "mask_bce")


def uses_stages(weights: dict[str, float]) -> bool:
    """True when ``weights`` name a loss of :func:`staged_loss`."""
    return any(name in STAGED_LOSSES for name in weights)


def staged_loss(stages: dict[str, torch.Tensor], target: torch.Tensor,
                weights: dict[str, float]) -> dict[str, torch.Tensor]:  # fmt: skip
    """The weighted ``STAGED_LOSSES`` terms of ``weights`` and their sum (``"total"``)."""
    if "mask" not in stages:
        raise ValueError(f"losses {[n for n in weights if n in STAGED_LOSSES]} need a gap-filling model "
                         "(a mask input)")
    from .archs.inpaint_sanet import reconstruction_loss
    from .archs.pyramidal_gan import mask_estimation_loss

    mask, target = stages["mask"].float(), target.float()
    terms: dict[str, torch.Tensor] = {}
    if "masked_l1" in weights:
        terms["masked_l1"] = reconstruction_loss(target, stages["coarse"].float(), stages["refined"].float(),
                                                 mask)  # fmt: skip
    if "mask_bce" in weights and "soft_mask" in stages:  # only a net that estimates the mask
        terms["mask_bce"] = mask_estimation_loss(stages["soft_mask"], mask)
    terms["total"] = sum((weights[name] * value for name, value in terms.items()), target.new_zeros(()))
    return terms


def _unit(y: torch.Tensor) -> torch.Tensor:
    return (y.float() + 1.0) / 2.0


def fusion_ssim(t: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """NiteDR's fuser: 1 - SSIM of the fused Y, averaged over the visible and the infrared Y."""
    fused = _unit(t["fused_y"])
    return 1.0 - 0.5 * (ssim(fused, _unit(t["visible_y"])) + ssim(fused, _unit(t["infrared_y"])))


def fusion_mse(t: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """NiteDR's fuser: MSE of the fused Y (in [-1, 1]), averaged over the visible and infrared Y."""
    fused = t["fused_y"].float()
    return 0.5 * (F.mse_loss(fused, t["visible_y"].float()) + F.mse_loss(fused, t["infrared_y"].float()))


def sci_fidelity(t: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """SCI's fidelity (Ma et al., CVPR 2022): the illumination stays close to the image it lights."""
    return F.mse_loss(t["illumination"].float(), t["fused"].float())


#: Colour distance scale of ``sci_smooth``'s edge weights, on [0, 1] images.
SMOOTH_SIGMA = 0.1


def sci_smooth(t: Mapping[str, torch.Tensor], sigma: float = SMOOTH_SIGMA) -> torch.Tensor:
    """SCI's smoothness: the illumination's L1 differences to its 24 neighbours in a 5x5 window,
    each weighted by ``exp(-|c_p - c_q|^2 / (2 sigma^2))`` of the lit image's YCrCb colours ``c``, so
    the illumination is smooth inside regions and may step at the image's edges."""
    from .archs.nitedr_fusion import rgb_to_ycrcb

    light, image = t["illumination"].float(), rgb_to_ycrcb(t["fused"].float().clamp(0.0, 1.0)).detach()
    height, width = light.shape[-2:]
    terms = []
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            if (dy, dx) <= (0, 0):  # each unordered pair of neighbours once (12 offsets x 2 = 24)
                continue
            ys, yd = slice(max(dy, 0), height + min(dy, 0)), slice(max(-dy, 0), height + min(-dy, 0))
            xs, xd = slice(max(dx, 0), width + min(dx, 0)), slice(max(-dx, 0), width + min(-dx, 0))
            weight = torch.exp(-((image[..., ys, xs] - image[..., yd, xd]) ** 2).sum(1) / (2 * sigma**2))
            terms.append((weight * (light[..., ys, xs] - light[..., yd, xd]).abs().sum(1)).mean())
    return torch.stack(terms).mean()


#: Losses on the tensors a network keeps in ``loss_inputs`` (no target).
FUSION_LOSSES: dict[str, Callable[[Mapping[str, torch.Tensor]], torch.Tensor]] = {
    "fusion_ssim": fusion_ssim,
    "fusion_mse": fusion_mse,
    "sci_fidelity": sci_fidelity,
    "sci_smooth": sci_smooth,
}


def build_loss(weights: dict[str, float]) -> Callable[..., dict[str, torch.Tensor]]:
    """``loss(pred, target, loss_inputs=None) -> {"total": ..., name: ...}`` for the weighted sum of
    named terms; ``FUSION_LOSSES`` need ``loss_inputs`` (the network's ``loss_inputs``) and
    ``STAGED_LOSSES`` are left to :func:`staged_loss`."""
    unknown = set(weights) - set(LOSSES) - set(FUSION_LOSSES) - set(STAGED_LOSSES)
    if unknown:
        known = ", ".join([*LOSSES, *FUSION_LOSSES, *STAGED_LOSSES])
        raise KeyError(f"unknown losses {sorted(unknown)}; known: {known}")

    def loss(pred: torch.Tensor, target: torch.Tensor,
             loss_inputs: Mapping[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:  # fmt: skip
        terms = {}
        for name in weights:
            if name in LOSSES:
                terms[name] = LOSSES[name](pred.float(), target.float())
            elif name in STAGED_LOSSES:
                continue
            elif loss_inputs is None:
                raise ValueError(f"loss {name!r} reads the network's loss_inputs, which it does not keep")
            else:
                terms[name] = FUSION_LOSSES[name](loss_inputs)
        zero = pred.new_zeros((), dtype=torch.float32)
        terms["total"] = sum((weights[name] * value for name, value in terms.items()), zero)
        return terms

    return loss


# -- adversarial ---------------------------------------------------------------------------------
class PatchDiscriminator(nn.Module):
    """A PatchGAN (pix2pix) critic with spectral norm: one logit per ~70x70 patch."""

    def __init__(self, in_channels: int = 3, width: int = 64, layers: int = 3) -> None:
        super().__init__()
        sn = nn.utils.spectral_norm
        blocks: list[nn.Module] = [sn(nn.Conv2d(in_channels, width, 4, 2, 1)), nn.LeakyReLU(0.2, True)]
        channels = width
        for i in range(1, layers + 1):
            out = min(width * 2**i, 8 * width)
            stride = 2 if i < layers else 1
            blocks += [sn(nn.Conv2d(channels, out, 4, stride, 1)), nn.LeakyReLU(0.2, True)]
            channels = out
        blocks.append(sn(nn.Conv2d(channels, 1, 4, 1, 1)))
        self.net = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating GAN loss of the critic: real patches -> 1, restored patches -> 0."""
    return F.binary_cross_entropy_with_logits(
        real_logits, torch.ones_like(real_logits)
    ) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))


def generator_adversarial_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The restorer's adversarial term: make the critic call restored patches real."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
