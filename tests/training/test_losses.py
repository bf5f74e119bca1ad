"""Losses: SSIM/MS-SSIM identities, small crops, gradients, the weighted sum, the adversary."""

from __future__ import annotations

import pytest
import torch

from training.losses import (
    PatchDiscriminator,
    build_loss,
    discriminator_loss,
    generator_adversarial_loss,
    ms_ssim,
    ms_ssim_scales,
    ssim,
)


def test_ssim_is_one_for_identical_images_and_lower_otherwise():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 48, 48)
    assert ssim(x, x).item() == pytest.approx(1.0, abs=1e-5)
    assert ms_ssim(x, x).item() == pytest.approx(1.0, abs=1e-5)
    noisy = (x + 0.2 * torch.randn_like(x)).clamp(0, 1)
    assert ssim(x, noisy) < 0.9 and ms_ssim(x, noisy) < 0.95
    assert ssim(x, noisy) > ssim(x, torch.rand_like(x))


@pytest.mark.parametrize(("size", "scales"), [(8, 1), (32, 2), (64, 3), (128, 4), (256, 5), (1024, 5)])
def test_ms_ssim_uses_as_many_scales_as_fit(size, scales):
    assert ms_ssim_scales(size) == scales
    x = torch.rand(1, 3, size, size)
    assert torch.isfinite(ms_ssim(x, x.flip(-1)))


def test_weighted_loss_sums_its_terms_and_backpropagates():
    pred = torch.rand(2, 3, 32, 32, requires_grad=True)
    target = torch.rand(2, 3, 32, 32)
    terms = build_loss({"smooth_l1": 2.5, "ms_ssim": 0.5})(pred, target)
    assert terms["total"].item() == pytest.approx(
        2.5 * terms["smooth_l1"].item() + 0.5 * terms["ms_ssim"].item()
    )
    terms["total"].backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all()
    with pytest.raises(KeyError, match="perceptual"):
        build_loss({"perceptual": 1.0})


def test_adversarial_losses_have_the_right_sign():
    disc = PatchDiscriminator(3, width=8)
    logits = disc(torch.rand(1, 3, 64, 64))
    assert logits.shape[1] == 1
    confident_real, confident_fake = torch.full((1, 1, 4, 4), 8.0), torch.full((1, 1, 4, 4), -8.0)
    assert discriminator_loss(confident_real, confident_fake) < discriminator_loss(
        confident_fake, confident_real
    )
    assert generator_adversarial_loss(confident_real) < generator_adversarial_loss(confident_fake)
