"""SSDIE-Net's unsupervised branch: losses on real degraded images that have no clean twin.

For a batch ``u`` of unlabelled inputs (normalised like the network's input) and the network ``G``:

* **consistency**: ``|G(u) - G(u + n)|_1`` with ``n ~ N(0, sigma)``, a restoration that does not
  depend on sensor noise;
* **retinex**: ``|G(u) - SSR(u)|_1``, a pull toward the single-scale Retinex of the input
  (``log u - log(G_sigma * u)`` per band, min-max stretched): a colour-constant pseudo-label that
  has no dust cast;
* **adversarial**: restored real images against clean images for a PatchGAN critic (the loop's
  discriminator; its weight is ``TrainConfig.adversarial_weight``).

``TaskSpec.unsupervised`` weighs the first two; the paper uses 1 and 0.1 beside a supervised
``100 * L1``, so they enter here at 1/100 of that.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

UNSUPERVISED_TERMS = ("consistency", "retinex")


def _gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur, reflect-padded, truncated at 3 sigma (at most the image size)."""
    radius = max(1, min(int(3 * sigma), min(x.shape[-2:]) - 1))
    coords = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-(coords**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    channels = x.shape[1]
    horizontal = kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1)
    vertical = kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1)
    x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="reflect"), horizontal, groups=channels)
    return F.conv2d(F.pad(x, (0, 0, radius, radius), mode="reflect"), vertical, groups=channels)


def single_scale_retinex(unit: torch.Tensor, sigma: float = 25.0, eps: float = 1e-3) -> torch.Tensor:
    """SSR of a (B, C, H, W) image in [0, 1], min-max stretched to [0, 1] per image and band."""
    unit = unit.clamp_min(0.0) + eps
    ratio = torch.log(unit) - torch.log(_gaussian_blur(unit, sigma))
    low = ratio.flatten(2).min(-1).values[..., None, None]
    high = ratio.flatten(2).max(-1).values[..., None, None]
    return (ratio - low) / (high - low).clamp_min(1e-6)


def build_unsupervised_loss(
    weights: dict[str, float],
    input_range: tuple[float, float],
    output_range: tuple[float, float],
    noise_sigma: float = 0.1,
    retinex_sigma: float = 25.0,
) -> Callable[[Callable[[torch.Tensor], torch.Tensor], torch.Tensor], dict[str, torch.Tensor]]:
    """``loss(G, u) -> {"total": ..., "restored": G(u), term: ...}`` for the weighted terms.

    ``input_range``/``output_range`` are the spans of the normalised input and of the network's
    output: the Retinex label is computed on the input mapped back to [0, 1] and mapped into the
    output's range.
    """
    unknown = set(weights) - set(UNSUPERVISED_TERMS)
    if unknown:
        raise KeyError(
            f"unknown unsupervised losses {sorted(unknown)}; known: {', '.join(UNSUPERVISED_TERMS)}"
        )
    (lo_i, hi_i), (lo_o, hi_o) = input_range, output_range

    def loss(net: Callable[[torch.Tensor], torch.Tensor], u: torch.Tensor) -> dict[str, torch.Tensor]:
        restored = net(u).float()
        terms: dict[str, torch.Tensor] = {}
        if weights.get("consistency"):
            noisy = net(u + noise_sigma * (hi_i - lo_i) / 2 * torch.randn_like(u)).float()
            terms["consistency"] = F.l1_loss(restored, noisy)
        if weights.get("retinex"):
            label = single_scale_retinex((u[:, : restored.shape[1]] - lo_i) / (hi_i - lo_i), retinex_sigma)
            terms["retinex"] = F.l1_loss(restored, label * (hi_o - lo_o) + lo_o)
        total = sum(weights[name] * value for name, value in terms.items())
        return {"total": torch.as_tensor(total, device=u.device), "restored": restored, **terms}

    return loss
