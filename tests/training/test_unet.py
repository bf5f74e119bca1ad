"""The residual U-Net (decloud, fill_gaps): its size, any-size input, ONNX export."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch import nn

from tests.training.helpers import export_preset
from training.archs import arch_summary, count_parameters
from training.archs.unet import UNet, UNetConfig
from training.specs import get_spec

torch.set_num_threads(1)


def test_presets_have_their_parameter_counts_and_the_same_blocks():
    full, lite = UNet(UNetConfig.full()), UNet(UNetConfig.lite())
    assert count_parameters(full) == 1_048_563  # width 48, 3 -> 3 bands
    assert count_parameters(lite) == 117_075  # width 16
    summary = arch_summary("unet")
    assert (summary["full_parameters"], summary["lite_parameters"], summary["multiple"]) == (
        1_048_563, 117_075, 4)
    assert [n for n, _ in full.named_children()] == [n for n, _ in lite.named_children()]


def test_no_normalisation_layer_takes_statistics_over_a_tile():
    norms = (nn.BatchNorm2d, nn.InstanceNorm2d, nn.GroupNorm, nn.LayerNorm)
    assert not any(isinstance(m, norms) for m in UNet(UNetConfig.full()).modules())


@pytest.mark.parametrize("shape", [(1, 3, 32, 32), (2, 4, 37, 22), (1, 4, 1, 5)])
def test_any_size_input_gives_out_channels_at_the_same_size(shape):
    torch.manual_seed(0)
    net = UNet(UNetConfig(in_channels=shape[1], out_channels=3, width=8)).eval()
    with torch.no_grad():
        out = net(torch.randn(shape))
    assert out.shape == (shape[0], 3, *shape[2:]) and torch.isfinite(out).all()


def test_the_residual_adds_the_first_out_channels_input_bands():
    torch.manual_seed(0)
    with_residual = UNet(UNetConfig(in_channels=4, out_channels=3, width=8)).eval()
    without = UNet(UNetConfig(in_channels=4, out_channels=3, width=8, residual=False)).eval()
    without.load_state_dict(with_residual.state_dict())
    x = torch.randn(2, 4, 20, 28)
    with torch.no_grad():
        assert torch.allclose(with_residual(x) - without(x), x[:, :3], atol=1e-6)


@pytest.mark.parametrize("task, presets", [("fill_gaps", ("lite", "full"))])
def test_export_and_onnx_runtime_matches_pytorch_at_any_size(tmp_path, task, presets):
    spec = get_spec(task)
    for preset in presets:
        report, model, net = export_preset(tmp_path, task, "unet", preset)
        assert report.max_abs_diff < 1e-4
        assert report.card.architecture.startswith("Residual U-Net (")
        assert report.parameters == count_parameters(net)
    session = ort.InferenceSession(str(report.path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    for height, width in ((44, 52), (45, 50)):  # a multiple of 4 and not: the network pads itself
        feeds = {}
        for s in spec.inputs:
            x = rng.random((1, len(s.bands), height, width)).astype(np.float32)
            feeds[s.name] = (x > 0.7).astype(np.float32) if s.role == "mask" else x
        got = session.run(None, feeds)[0]
        with torch.no_grad():
            expected = model(torch.from_numpy(np.concatenate(list(feeds.values()), axis=1))).numpy()
        assert got.shape == (1, 3, height, width) and np.abs(got - expected).max() < 1e-4
