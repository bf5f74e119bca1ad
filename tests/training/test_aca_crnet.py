"""ACA-CRNet: the published sizes, its blocks, the attention's selection, any-size input, the optical
global skip, ONNX export (lite RGB through the export path, full Sentinel-2 + SAR directly)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch import nn

from training.archs import ARCHS, arch_summary, build_arch, count_parameters
from training.archs.aca_crnet import ACACRNet, ACACRNetConfig, ACAttention
from training.checkpoint import save_checkpoint
from training.export import export_checkpoint
from training.model import RestorationModel
from training.specs import get_spec

torch.set_num_threads(1)

#: seed_models.md, section 3: the authors' ACA_CRNet modules measure 20.40 M (3 -> 3) and 20.45 M
#: (Sentinel-1 VV, VH + 13 Sentinel-2 bands -> 13 bands).
PUBLISHED_RGB, PUBLISHED_S2_SAR = 20_400_000, 20_450_000
S2_SAR = {"in_channels": 15, "out_channels": 13, "sar_channels": 2}


def test_full_configuration_has_the_published_parameter_counts():
    rgb = count_parameters(ACACRNet(ACACRNetConfig.full()))
    s2_sar = count_parameters(build_arch("aca_crnet", "full", **S2_SAR)[0])
    assert abs(rgb - PUBLISHED_RGB) / PUBLISHED_RGB < 0.02
    assert abs(s2_sar - PUBLISHED_S2_SAR) / PUBLISHED_S2_SAR < 0.02
    assert (rgb, s2_sar) == (20_397_831, 20_448_529)  # the exact counts of this implementation
    summary = arch_summary("aca_crnet")
    assert (summary["full_parameters"], summary["lite_parameters"], summary["multiple"]) == (
        rgb, 173_031, 2)
    assert ARCHS["aca_crnet"].title == "ACA-CRNet"
    assert count_parameters(ACAttention(256)) == 754_690  # the paper's "0.755 M" at C = 256


def _block_types(net: ACACRNet) -> list[str]:
    return [type(block).__name__ for block in net.blocks]


def test_lite_keeps_every_block_type_with_both_attention_blocks_at_the_same_depth():
    full, lite = ACACRNet(ACACRNetConfig.full()), ACACRNet(ACACRNetConfig.lite())
    assert [n for n, _ in full.named_children()] == [n for n, _ in lite.named_children()]
    assert _block_types(full) == ["ResBlock"] * 8 + ["ResBlockAtt"] + ["ResBlock"] * 3 + [
        "ResBlockAtt"] + ["ResBlock"] * 3
    for net in (full, lite):
        att = [i / len(net.blocks) for i, t in enumerate(_block_types(net)) if t == "ResBlockAtt"]
        assert att == [0.5, 0.75]  # the authors' num_layers // 2 and num_layers * 3 // 4
    # Inside the blocks the authors' layer names, so their weights map by the top-level index only.
    assert {n for n, _ in full.blocks[8].named_modules()} >= {"net.conv1", "net.conv2", "net.att.query",
                                                             "net.att.value", "net.att.linear_weight",
                                                             "net.att.bias", "net.att.linear"}  # fmt: skip
    assert count_parameters(lite) < count_parameters(full) / 100


def test_config_rejects_a_skip_that_does_not_match_the_optical_bands():
    with pytest.raises(ValueError, match="sar_channels"):
        ACACRNetConfig(in_channels=15, out_channels=13, sar_channels=0)
    with pytest.raises(ValueError, match="sar_channels"):
        ACACRNetConfig(in_channels=3, out_channels=13)
    # Unset, the SAR bands are whatever the input has beyond the optical ones (the spec's channels).
    assert ACACRNetConfig(in_channels=15, out_channels=13).sar == 2
    with pytest.raises(ValueError, match="attention_blocks"):
        ACACRNetConfig(blocks=8)
    assert ACACRNetConfig(attention_blocks=[8, 12]).attention_blocks == (8, 12)  # JSON lists


def test_attention_shapes_and_the_residual():
    torch.manual_seed(0)
    att = ACAttention(16)
    x = torch.randn(2, 16, 5, 7)
    assert att.attention(x).shape == (2, 35, 35)
    with torch.no_grad():
        nn.init.zeros_(att.linear[0].weight)
        nn.init.zeros_(att.linear[0].bias)
        assert torch.equal(att(x), x)  # out = LeakyReLU(conv3x3(aggregate)) + x


def _fix_selection(att: ACAttention, weight: float, bias: float) -> None:
    """Make the per-query MLPs return constants: w = ``weight``, b = ``bias``."""
    with torch.no_grad():
        for mlp, value in ((att.linear_weight, weight), (att.bias, bias)):
            nn.init.zeros_(mlp[2].weight)
            mlp[2].bias.fill_(value)


def test_selection_with_no_key_selected_gives_zero_attention():
    torch.manual_seed(0)
    att = ACAttention(8)
    x = torch.randn(1, 8, 4, 4)
    _fix_selection(att, 0.0, -1e6)  # sel = ReLU(s + b) = 0 everywhere
    with torch.no_grad():
        a = att.attention(x)
        assert torch.equal(a, torch.full_like(a, 1e-8))
        aggregate = torch.bmm(att.value(x).flatten(2), a.transpose(1, 2))
        assert aggregate.abs().max() < 1e-5


def test_masked_keys_get_1e8_and_the_rest_is_not_renormalised():
    torch.manual_seed(0)
    att = ACAttention(8)
    x = torch.randn(2, 8, 4, 5)
    _fix_selection(att, 1.0, 0.0)  # keep the keys that score above the query's mean
    with torch.no_grad():
        a = att.attention(x)
        q = att.query(x).flatten(2)
        keys = q / q.norm(dim=1, keepdim=True)
        s = torch.bmm(q.transpose(1, 2), keys)
        sel = torch.relu(s - s.mean(-1, keepdim=True))
        softmax = torch.softmax(s * sel, -1)
    kept = sel > 0
    assert kept.any() and (~kept).any()
    assert torch.equal(a[~kept], torch.full_like(a[~kept], 1e-8))
    assert torch.allclose(a[kept], softmax[kept].clamp_min(1e-8))
    # The dropped keys' softmax share is lost, not redistributed over the kept keys.
    expected_sums = softmax.masked_fill(~kept, 0.0).sum(-1) + 1e-8 * (~kept).sum(-1)
    assert torch.allclose(a.sum(-1), expected_sums) and (a.sum(-1) < 0.9).any()


@pytest.mark.parametrize("shape", [(1, 3, 32, 32), (2, 3, 17, 23), (1, 3, 9, 10)])
def test_any_size_input_gives_the_same_size(shape):
    torch.manual_seed(0)
    net = ACACRNet(ACACRNetConfig(features=8, blocks=4, attention_blocks=(2, 3))).eval()
    with torch.no_grad():
        out = net(torch.randn(shape))
    assert out.shape == shape and torch.isfinite(out).all()


def test_global_skip_adds_only_the_optical_bands_when_sar_is_present():
    torch.manual_seed(0)
    net = ACACRNet(ACACRNetConfig(in_channels=5, out_channels=3, sar_channels=2, features=8, blocks=4,
                                  attention_blocks=(2, 3))).eval()  # fmt: skip
    x = torch.randn(2, 5, 11, 14)
    with torch.no_grad():
        nn.init.zeros_(net.tail.weight)
        nn.init.zeros_(net.tail.bias)
        assert torch.equal(net(x), x[:, 2:])


def _export_lite_decloud(tmp_path: Path) -> tuple[Any, RestorationModel, nn.Module]:
    """The decloud spec with this network (tile multiple 2), an untrained lite model, exported."""
    spec = dataclasses.replace(get_spec("decloud"), arch="aca_crnet",
                               tile=dataclasses.replace(get_spec("decloud").tile, multiple=2))  # fmt: skip
    torch.manual_seed(0)
    net, cfg = build_arch("aca_crnet", "lite")
    model = RestorationModel(net, spec).eval()
    ckpt = tmp_path / "decloud-aca_crnet-lite.pt"
    save_checkpoint(ckpt, spec=spec, train_config=spec.lite, arch_config=cfg, model=model, step=1,
                    best_psnr=float("nan"))  # fmt: skip
    return export_checkpoint(ckpt, tmp_path / "decloud-aca_crnet-lite.onnx"), model, net


def test_lite_rgb_exports_through_the_export_path_and_onnx_runtime_matches_pytorch(tmp_path):
    report, model, net = _export_lite_decloud(tmp_path)
    assert report.max_abs_diff < 1e-4
    assert report.card.architecture.startswith("ACA-CRNet (")
    assert report.parameters == count_parameters(net)
    session = ort.InferenceSession(str(report.path), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).random((1, 3, 19, 24)).astype(np.float32)  # odd: the net pads itself
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    assert got.shape == x.shape and np.abs(got - expected).max() < 1e-4


def test_full_sentinel2_with_sar_exports_and_onnx_runtime_matches_pytorch(tmp_path):
    torch.manual_seed(0)
    net = build_arch("aca_crnet", "full", **S2_SAR)[0].eval()
    path = tmp_path / "aca_crnet_full_s2_sar.onnx"
    axes = {0: "batch", 2: "height", 3: "width"}
    torch.onnx.export(net, (torch.rand(1, 15, 16, 16),), str(path), dynamo=False, opset_version=17,
                      input_names=["x"], output_names=["y"], dynamic_axes={"x": axes, "y": axes})
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).random((1, 15, 17, 22)).astype(np.float32)
    got = session.run(None, {"x": x})[0]
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    assert got.shape == (1, 13, 17, 22) and np.abs(got - expected).max() < 1e-3
