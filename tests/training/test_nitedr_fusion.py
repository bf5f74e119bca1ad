"""NiteDR's FusionNet: published sizes, colour conversion, the balance clamp, ONNX export."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from training.archs import arch_summary, count_parameters
from training.archs.nitedr_fusion import (
    BalanceModule,
    DenseFuser,
    NiteDRFusion,
    NiteDRFusionConfig,
    rgb_to_ycrcb,
    ycrcb_to_rgb,
)

torch.set_num_threads(1)

#: seed_models.md, section 4: the authors' DenseNet measures 0.659 M, their BalanceModule 837.
FUSER_PARAMETERS = 659_000
BALANCE_PARAMETERS = 837


def _net() -> NiteDRFusion:
    torch.manual_seed(0)
    return NiteDRFusion(NiteDRFusionConfig()).eval()


def test_published_parameter_counts():
    net = NiteDRFusion(NiteDRFusionConfig.full())
    fuser = count_parameters(net.fuser)
    assert abs(fuser - FUSER_PARAMETERS) / FUSER_PARAMETERS < 0.02
    assert fuser == 659_217  # the exact count of the authors' DenseNet
    assert count_parameters(net.balance) == BALANCE_PARAMETERS
    assert count_parameters(net) == 660_054
    summary = arch_summary("nitedr_fusion")
    assert summary["full_parameters"] == summary["lite_parameters"] == 660_054


def test_lite_is_the_published_network_with_the_same_named_blocks():
    assert NiteDRFusionConfig.lite() == NiteDRFusionConfig.full()
    net = NiteDRFusion(NiteDRFusionConfig.lite())
    assert isinstance(net.fuser, DenseFuser) and isinstance(net.balance, BalanceModule)
    assert len(net.fuser.dense_layers) == 5
    assert net.fuser.sub[0][0].in_channels == 264


def test_ycrcb_is_full_range_bt601_and_its_round_trip_is_exact():
    rgb = torch.tensor([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]).T.reshape(1, 3, 1, 3)
    ycrcb = rgb_to_ycrcb(rgb)[0, :, 0].T
    torch.testing.assert_close(ycrcb[0], torch.tensor([1.0, 0.5, 0.5]))  # white: no chroma
    torch.testing.assert_close(ycrcb[1], torch.tensor([0.0, 0.5, 0.5]))
    torch.testing.assert_close(ycrcb[2], torch.tensor([0.299, 1.0, 0.331264]))  # OpenCV's red
    x = torch.rand(2, 3, 9, 11, generator=torch.Generator().manual_seed(0))
    assert (ycrcb_to_rgb(rgb_to_ycrcb(x)) - x).abs().max() < 1e-6
    assert (rgb_to_ycrcb(ycrcb_to_rgb(x)) - x).abs().max() < 1e-6


class _KeepVisible(nn.Module):
    def forward(self, visible_y: torch.Tensor, infrared_y: torch.Tensor) -> torch.Tensor:
        return visible_y


def test_a_fused_luminance_equal_to_the_visible_one_gives_back_the_visible_image():
    net = _net()
    net.fuser = _KeepVisible()
    derained, infrared = torch.rand(2, 3, 8, 10), torch.rand(2, 1, 8, 10)
    fused, infrared_ycrcb = net.fuse(derained, infrared)
    assert (fused - derained).abs().max() < 1e-6
    torch.testing.assert_close(infrared_ycrcb[:, :1], infrared * 2 - 1)
    assert (infrared_ycrcb[:, 1:] == 0).all()


def test_balance_output_is_finite_and_the_clamps_hold():
    torch.manual_seed(0)
    balance = BalanceModule().eval()
    fused = torch.cat([torch.zeros(1, 3, 6, 6), torch.rand(1, 3, 6, 6) * 1.6 - 0.3, torch.ones(1, 3, 6, 6)])
    infrared = torch.rand(3, 3, 6, 6) * 2 - 1
    out, illumination = balance(fused, infrared)
    assert torch.isfinite(out).all() and torch.isfinite(illumination).all()
    assert illumination.min() >= 1e-4 and illumination.max() <= 1.0
    assert out.min() >= 0.0 and out.max() <= 1.0
    inside = (fused > 0) & (fused < illumination)
    torch.testing.assert_close(out[inside], (fused / illumination)[inside])
    # Illumination is at least the input wherever the clamp allows: the output never darkens it.
    assert (out[fused.clamp(0, 1) == fused] >= fused[fused.clamp(0, 1) == fused] - 1e-6).all()


@pytest.mark.parametrize("size", [(16, 16), (5, 7), (33, 18)])
def test_any_size_two_inputs_or_stacked_give_the_same_rgb(size):
    net = _net()
    derained, infrared = torch.rand(2, 3, *size), torch.rand(2, 1, *size)
    with torch.no_grad():
        out = net(derained, infrared)
        stacked = net(torch.cat([derained, infrared], dim=1))
    assert out.shape == (2, 3, *size) and torch.isfinite(out).all()
    assert out.min() >= 0 and out.max() <= 1
    torch.testing.assert_close(out, stacked)


def test_exports_to_onnx_opset_17_and_onnx_runtime_matches_pytorch(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    net = _net()
    net.train()
    with torch.no_grad():  # non-trivial BatchNorm statistics in the balance module
        net(torch.rand(2, 3, 16, 16), torch.rand(2, 1, 16, 16))
    net.eval()
    path = tmp_path / "fusion.onnx"
    axes = {0: "batch", 2: "height", 3: "width"}
    torch.onnx.export(
        net, (torch.rand(1, 3, 24, 24), torch.rand(1, 1, 24, 24)), str(path), dynamo=False,
        opset_version=17, input_names=["derained", "infrared"], output_names=["fused"],
        dynamic_axes={"derained": axes, "infrared": axes, "fused": axes},
    )  # fmt: skip
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for size in [(24, 24), (17, 29)]:
        derained, infrared = torch.rand(1, 3, *size), torch.rand(1, 1, *size)
        with torch.no_grad():
            expected = net(derained, infrared).numpy()
        got = session.run(None, {"derained": derained.numpy(), "infrared": infrared.numpy()})[0]
        assert got.shape == expected.shape
        assert np.abs(got - expected).max() < 1e-4, size
