"""InpaintSANet (the GRSL generator): published size, blocks, gating, composite, any size, ONNX."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch

from training.archs import arch_summary, build_arch, count_parameters
from training.archs.inpaint_sanet import (
    CoarseNet,
    DilatedChain,
    GatedConv,
    GatedDecoder,
    GatedDeconv,
    InpaintSANet,
    InpaintSANetConfig,
    RefineNet,
    SelfAttention,
    SNPatchGANDiscriminator,
    hinge_discriminator_loss,
    hinge_generator_loss,
    reconstruction_loss,
)

torch.set_num_threads(1)

#: seed_models.md, section 5, and the authors' README: G 6.05 M, D 4.94 M.
PUBLISHED_GENERATOR = 6_050_000
PUBLISHED_DISCRIMINATOR = 4_940_000


def _input(bands: int, height: int, width: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    image = torch.rand(1, bands, height, width, generator=gen) * 2 - 1
    mask = (torch.rand(1, 1, height, width, generator=gen) > 0.7).float()
    return torch.cat([image, mask], dim=1)


def _block_types(net: torch.nn.Module) -> list[str]:
    return [type(m).__name__ for m in net.modules()]


def test_full_configuration_has_the_published_parameter_count():
    full = count_parameters(InpaintSANet(InpaintSANetConfig.full()))
    assert abs(full - PUBLISHED_GENERATOR) / PUBLISHED_GENERATOR < 0.02
    assert full == 6_053_113  # this implementation, RGB + mask (the authors' 5-plane stage input)
    summary = arch_summary("inpaint_sanet")
    assert (summary["full_parameters"], summary["multiple"]) == (full, 4)
    assert summary["lite_parameters"] == count_parameters(InpaintSANet(InpaintSANetConfig.lite()))
    disc = count_parameters(SNPatchGANDiscriminator())
    assert abs(disc - PUBLISHED_DISCRIMINATOR) / PUBLISHED_DISCRIMINATOR < 0.02
    assert disc == 4_938_497


def test_lite_keeps_every_block_at_a_smaller_width():
    full, lite = InpaintSANet(InpaintSANetConfig.full()), InpaintSANet(InpaintSANetConfig.lite())
    assert _block_types(full) == _block_types(lite)
    assert {"CoarseNet", "RefineNet", "DilatedChain", "SelfAttention", "GatedDecoder", "GatedConv",
            "GatedDeconv"} <= set(_block_types(lite))  # fmt: skip
    assert isinstance(lite.coarse, CoarseNet) and isinstance(lite.refine, RefineNet)
    assert isinstance(lite.refine.context, DilatedChain) and isinstance(lite.refine.attention, SelfAttention)
    assert isinstance(lite.coarse.decoder, GatedDecoder)
    assert count_parameters(lite) == 1_520_777
    assert count_parameters(lite) < count_parameters(full) / 3


def test_gated_conv_gates_in_the_open_unit_interval_and_shapes_follow_stride():
    torch.manual_seed(0)
    layer = GatedConv(4, 6, 4, 2).eval()
    x = torch.randn(2, 4, 16, 12)
    gate = layer.gate(x)
    assert gate.shape == (2, 6, 8, 6) and (gate >= 0).all() and (gate <= 1).all()
    assert gate.std() > 0.1  # a per-pixel gate, not a constant
    feature = layer.conv(x).chunk(2, dim=1)[0]
    with torch.no_grad():
        assert torch.allclose(layer(x), layer.norm(torch.nn.functional.leaky_relu(feature, 0.2) * gate))
        layer.conv.bias[6:] = -1e4  # a gate shut everywhere passes nothing but BN's shift
        assert torch.allclose(layer(x), layer.norm(torch.zeros(2, 6, 8, 6)))
    assert GatedConv(4, 6, 3, dilation=8)(x).shape == (2, 6, 16, 12)
    assert GatedDeconv(4, 6)(x).shape == (2, 6, 32, 24)


def test_valid_pixels_come_back_exactly_and_coarse_is_raw():
    torch.manual_seed(0)
    net = InpaintSANet(InpaintSANetConfig(width=8)).eval()
    x = _input(3, 32, 40)
    image, mask = x[:, :3], x[:, 3:]
    x_garbage = x.clone()
    x_garbage[:, :3] = torch.where(mask.bool(), torch.full_like(image, -9999.0), image)
    with torch.no_grad():
        coarse, refined = net(x)
        _, refined_garbage = net(x_garbage)
    valid = (mask == 0).expand_as(image)
    assert torch.equal(refined[valid], image[valid])
    assert torch.equal(refined, refined_garbage)  # what lies under the mask is ignored
    assert not torch.equal(refined[~valid], image[~valid])
    assert coarse.abs().max() <= 1.0 and coarse.shape == image.shape


def test_without_a_mask_band_nothing_is_missing():
    net, _ = build_arch("inpaint_sanet", {"width": 8}, in_channels=3, out_channels=3)
    image = torch.rand(1, 3, 20, 24)
    with torch.no_grad():
        assert torch.equal(net.eval()(image)[1], image)


@pytest.mark.parametrize("shape", [(1, 4, 32, 32), (2, 4, 37, 22), (1, 6, 13, 9)])
def test_any_size_input_gives_the_same_size(shape):
    torch.manual_seed(0)
    in_channels = shape[1]  # 6: image, mask and two guidance bands (the authors' img_exs)
    net = InpaintSANet(InpaintSANetConfig(in_channels=in_channels, width=8)).eval()
    x = _input(3, *shape[2:]).expand(shape[0], -1, -1, -1)
    x = torch.cat([x, torch.rand(shape[0], in_channels - 4, *shape[2:])], dim=1)
    with torch.no_grad():
        coarse, refined = net(x)
    assert coarse.shape == refined.shape == (shape[0], 3, *shape[2:])
    assert torch.isfinite(refined).all()


def test_discriminator_and_losses():
    torch.manual_seed(0)
    disc = SNPatchGANDiscriminator(5, width=8)
    logits = disc(torch.randn(2, 5, 128, 128))
    assert logits.shape == (2, 32)
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.0])
    assert hinge_discriminator_loss(real, fake).item() == pytest.approx(0.25 + 0.5)
    assert hinge_generator_loss(fake).item() == pytest.approx(1.0)
    target = torch.zeros(1, 3, 8, 8)
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., :2, :] = 1.0  # a quarter of the image is missing
    pred = target + mask  # error 1 in the hole only
    loss = reconstruction_loss(target, pred, target, mask)  # coarse wrong in the hole, refined right
    assert loss.item() == pytest.approx(1.2)  # the hole term normalised by its area


def test_lite_exports_to_onnx_and_onnx_runtime_matches_pytorch(tmp_path):
    torch.manual_seed(0)
    net = InpaintSANet(InpaintSANetConfig.lite()).eval()
    path = tmp_path / "inpaint_sanet.onnx"
    dims = {0: "batch", 2: "height", 3: "width"}
    torch.onnx.export(net, (_input(3, 48, 48),), str(path), opset_version=17, dynamo=False,
                      input_names=["x"], output_names=["coarse", "refined"],
                      dynamic_axes={"x": dims, "coarse": dims, "refined": dims})  # fmt: skip
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = _input(3, 44, 53, seed=1)  # not the traced size, not a multiple of 4
    got = session.run(None, {"x": x.numpy()})
    with torch.no_grad():
        expected = net(x)
    for a, b in zip(got, expected, strict=True):
        assert a.shape == tuple(b.shape) and np.abs(a - b.numpy()).max() < 1e-4
    valid = (x[:, 3:] == 0).expand(-1, 3, -1, -1).numpy()
    assert np.array_equal(got[1][valid], x[:, :3].numpy()[valid])
