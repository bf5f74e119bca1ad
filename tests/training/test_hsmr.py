"""HSMR-Net: the published size, the slice interaction, any-size inputs, ONNX export, tiling."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from training.archs.hsmr import (
    HSIIM,
    ChannelAttention,
    HSMRConfig,
    HSMRNet,
    LocalMean,
    count_parameters,
    from_slices,
    remap_bands,
    to_slices,
)

torch.set_num_threads(1)

#: sum(p.numel()) of the authors' generator (seed_models.md: 9.91 M) minus their unused fourth MLP (64).
FULL_PARAMETERS = 9_911_696


def _tiny(norm: str = "batch") -> HSMRNet:
    torch.manual_seed(0)
    return HSMRNet(HSMRConfig(ngf=8, n_blocks=1, norm=norm)).eval()


def test_full_configuration_has_the_published_parameter_count():
    model = HSMRNet(HSMRConfig.full())
    assert count_parameters(model) == FULL_PARAMETERS
    # The blocks the reference measured on their own: HSIIM 0.198 M, MDCRs 0.429 M and 0.129 M.
    assert count_parameters(model.hsiim) == 197_568
    assert count_parameters(model.mdcr1) == 429_489
    assert count_parameters(model.mdcr2) == 128_753


def test_lite_is_the_same_network_narrower():
    full, lite = HSMRNet(HSMRConfig.full()), HSMRNet(HSMRConfig.lite())
    assert [name for name, _ in full.named_children()] == [name for name, _ in lite.named_children()]
    assert count_parameters(lite) < count_parameters(full) / 10


def test_config_rejects_unknown_norm_and_head():
    with pytest.raises(ValueError, match="norm"):
        HSMRConfig(norm="group")
    with pytest.raises(ValueError, match="head"):
        HSMRConfig(head="sigmoid")
    with pytest.raises(ValueError, match="in_channels"):
        HSMRConfig(in_channels=4, out_channels=3, head="affine")


def test_affine_head_starts_as_the_identity_and_learns_away_from_it():
    torch.manual_seed(0)
    model = HSMRNet(HSMRConfig.lite())
    x = torch.rand(2, 3, 40, 24)
    with torch.no_grad():
        assert torch.equal(model.eval()(x), x)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(3):  # a brighter target: the affine head must move
        loss = (model(x) - (x * 1.5).clamp(0, 1)).abs().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        assert not torch.allclose(model.eval()(x), x)


def test_slices_round_trip_and_match_unfold_order():
    x = torch.randn(2, 3, 6, 10)
    slices = to_slices(x)
    assert slices.shape == (2, 3, 3, 5, 4)
    assert torch.equal(from_slices(slices), x)
    # Same 2x2 slices, in the same order, as F.unfold (which the authors used).
    unfolded = F.unfold(x, kernel_size=2, stride=2).reshape(2, 3, 4, 15).permute(0, 1, 3, 2)
    assert torch.equal(slices.reshape(2, 3, 15, 4), unfolded)


def test_hsiim_matches_the_per_slice_loop():
    torch.manual_seed(1)
    block = HSIIM(4).eval()
    x1, x2, x3 = (torch.randn(1, 4, 4, 6) for _ in range(3))
    out = block(x1, x2, x3)
    a_map, b_map, c_map = block.proj1(x1), block.proj2(x2), block.proj3(x3)
    expected = torch.zeros_like(out)
    for ch in range(4):
        for i in range(0, 4, 2):
            for j in range(0, 6, 2):
                a = block.mlp1(a_map[0, ch, i : i + 2, j : j + 2].reshape(4))
                b = block.mlp2(b_map[0, ch, i : i + 2, j : j + 2].reshape(4))
                c = block.mlp3(c_map[0, ch, i : i + 2, j : j + 2].reshape(4))
                expected[0, ch, i : i + 2, j : j + 2] = (c * a.sum() * b.sum()).reshape(2, 2)
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize("size", [(8, 8), (37, 50), (64, 24)])
def test_any_size_in_same_size_out(size):
    model = _tiny()
    with torch.no_grad():
        out = model(torch.rand(1, 3, *size))
    assert out.shape == (1, 3, *size)
    assert out.min() >= 0 and out.max() <= 1


def test_training_mode_backpropagates():
    model = _tiny().train()
    out = model(torch.rand(2, 3, 32, 32))
    out.mean().backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("window", [None, 15])
def test_onnx_export_with_dynamic_size_matches_torch(tmp_path, window):
    ort = pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    model = HSMRNet(HSMRConfig.lite(attention_window=window))
    torch.nn.init.normal_(model.head[1].weight, std=0.05)  # not the identity: the body must matter
    # Non-trivial BatchNorm statistics, so eval differs from a fresh model.
    model.train()
    with torch.no_grad():
        model(torch.rand(2, 3, 32, 32))
    model.eval()
    path = tmp_path / "hsmr.onnx"
    axes = {0: "batch", 2: "height", 3: "width"}
    torch.onnx.export(
        model, torch.rand(1, 3, 64, 64), str(path), dynamo=False, opset_version=17,
        input_names=["hazy"], output_names=["clear"], dynamic_axes={"hazy": axes, "clear": axes},
    )  # fmt: skip
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for size in [(64, 64), (48, 80), (45, 70)]:
        x = torch.rand(1, 3, *size)
        with torch.no_grad():
            expected = model(x).numpy()
        got = session.run(None, {"hazy": x.numpy()})[0]
        assert got.shape == expected.shape
        assert np.abs(got - expected).max() < 1e-4, size


def _tiled(model: HSMRNet, x: torch.Tensor, tile: int, halo: int) -> torch.Tensor:
    """Run ``model`` on tiles with a ``halo`` of context each side and keep only their centres."""
    height, width = x.shape[-2:]
    step = tile - 2 * halo
    out = torch.empty_like(x)
    for y0 in range(0, height, step):
        for x0 in range(0, width, step):
            ya, xa = max(0, y0 - halo), max(0, x0 - halo)
            yb, xb = min(height, y0 + step + halo), min(width, x0 + step + halo)
            h, w = min(step, height - y0), min(step, width - x0)
            result = model(x[..., ya:yb, xa:xb])
            out[..., y0 : y0 + h, x0 : x0 + w] = result[..., y0 - ya : y0 - ya + h, x0 - xa : x0 - xa + w]
    return out


def test_batch_norm_configuration_is_tile_invariant_instance_norm_is_not():
    """Why the shipped model uses norm="batch": per-tile instance statistics make seams."""
    torch.manual_seed(0)
    x = torch.rand(1, 3, 128, 128)
    diffs = {}
    for norm in ("batch", "instance"):
        model = _tiny(norm)
        with torch.no_grad():
            diffs[norm] = (model(x) - _tiled(model, x, tile=64, halo=16)).abs().max().item()
    assert diffs["batch"] < 1e-4
    assert diffs["instance"] > 100 * max(diffs["batch"], 1e-6)


def test_local_mean_is_the_two_dimensional_mean_inside_the_image():
    x = torch.rand(1, 2, 13, 17)
    expected = F.avg_pool2d(x, 5, stride=1, padding=2, count_include_pad=False)
    torch.testing.assert_close(LocalMean(5)(x), expected)
    with pytest.raises(ValueError, match="attention_window"):
        HSMRConfig(attention_window=4)


def test_windowed_channel_attention_is_tile_invariant_global_is_not():
    """Why the lite model pools over a window: a global pool gates each tile by its own content."""
    torch.manual_seed(0)
    x = torch.rand(1, 8, 48, 48)
    x[..., 24:] += 3.0  # content that differs across the image
    diffs = {}
    for window in (None, 5):
        torch.manual_seed(1)
        block = ChannelAttention(8, reduction=2, window=window).eval()
        with torch.no_grad():
            whole = block(x)[..., 2:22, 2:22]
            crop = block(x[..., :24, :24])[..., 2:22, 2:22]  # the crop's centre, 2 px from its edges
        diffs[window] = (whole - crop).abs().max().item()
    assert diffs[5] < 1e-6
    assert diffs[None] > 1e-3


def _with_context(features: int = 6) -> tuple[HSMRNet, HSMRNet]:
    """A lite network and the same one with a scene context, loaded from the first's weights."""
    torch.manual_seed(0)
    plain = HSMRNet(HSMRConfig.lite(attention_window=15))
    torch.nn.init.normal_(plain.head[1].weight, std=0.05)  # not the identity: the body must matter
    conditioned = HSMRNet(dataclasses.replace(plain.config, context_features=features))
    missing, unexpected = conditioned.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and all(key.startswith("scene.") for key in missing)
    return plain.eval(), conditioned.eval()


def test_scene_modulation_starts_as_the_identity_and_then_conditions_the_whole_image():
    plain, conditioned = _with_context()
    x = torch.rand(2, 3, 48, 40)
    with torch.no_grad():
        # Zero-initialised: a checkpoint without a context is fine-tuned from the same function.
        assert torch.equal(conditioned(x, torch.rand(2, 6)), plain(x))
        torch.nn.init.normal_(conditioned.scene.mlp[2].weight, std=0.1)
        low, high = conditioned(x, torch.zeros(2, 6)), conditioned(x, torch.full((2, 6), 0.5))
    assert (low - high).abs().mean() > 1e-3  # the context changes the result...
    with pytest.raises(ValueError, match="scene context of 6 values"):
        conditioned(x)  # ...and is required
    mlp = (6 * 32 + 32) + (32 + 1) * (2 * 64 + 2 * 16 + 6)  # FiLM of 64 + 16 channels, 6 head offsets
    assert count_parameters(conditioned) - count_parameters(plain) == mlp


def test_onnx_export_with_a_scene_context_matches_torch(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    _, model = _with_context()
    torch.nn.init.normal_(model.scene.mlp[2].weight, std=0.1)
    path = tmp_path / "hsmr_context.onnx"
    axes = {0: "batch", 2: "height", 3: "width"}
    torch.onnx.export(
        model, (torch.rand(1, 3, 64, 64), torch.rand(1, 6)), str(path), dynamo=False, opset_version=17,
        input_names=["hazy", "hazy_context"], output_names=["clear"],
        dynamic_axes={"hazy": axes, "clear": axes, "hazy_context": {0: "batch"}},
    )  # fmt: skip
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x, context = torch.rand(2, 3, 45, 70), torch.rand(2, 6)
    with torch.no_grad():
        expected = model(x, context).numpy()
    got = session.run(None, {"hazy": x.numpy(), "hazy_context": context.numpy()})[0]
    assert np.abs(got - expected).max() < 1e-4


@pytest.mark.parametrize("head", ["affine", "tanh"])
def test_remapped_weights_start_as_the_old_network_on_the_old_bands(head):
    """Red, green, blue -> blue, green, red, NIR: at step 0 the new network returns the old one's
    result in the new order, and the NIR band (new, zero stem column) does not change it."""
    torch.manual_seed(0)
    config = HSMRConfig(ngf=8, n_blocks=1, head=head)
    old = HSMRNet(config).eval()
    for parameter in old.head.parameters():  # the affine head starts at zero: make it do something
        torch.nn.init.normal_(parameter, std=0.05)
    new = HSMRNet(dataclasses.replace(config, in_channels=4, out_channels=4)).eval()
    new.load_state_dict(remap_bands(old.state_dict(), [2, 1, 0, 0], [False, False, False, True], config))
    rgb = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        expected = old(rgb)
        for nir in (torch.zeros(1, 1, 32, 32), torch.rand(1, 1, 32, 32)):
            got = new(torch.cat([rgb[:, [2, 1, 0]], nir], dim=1))
            torch.testing.assert_close(got[:, [2, 1, 0]], expected, atol=1e-4, rtol=0)
    if head == "tanh":  # the new band gets its source band's head: red's output
        torch.testing.assert_close(got[:, 3], expected[:, 0], atol=1e-4, rtol=0)
