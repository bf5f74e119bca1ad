"""NiteDR's CLformer: the published size, top-selection attention, any-size input, ONNX export."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from training.archs import arch_summary, count_parameters
from training.archs.clformer import (
    MULTIPLE,
    AgMoE,
    CLformer,
    CLformerConfig,
    TopSelectionAttention,
    top_k_sizes,
    top_selection_masks,
)

torch.set_num_threads(1)

#: seed_models.md, section 4: the authors' CLformer() measures 33.66 M.
PUBLISHED_PARAMETERS = 33_660_000
#: A small network with every block, for the functional tests.
SMALL = CLformerConfig(dim=8, num_blocks=(1, 1, 1, 1), heads=(1, 1, 2, 2), agmoe_steps=2)


def _block_types(net: torch.nn.Module) -> set[str]:
    return {type(m).__name__ for m in net.modules()}


def test_full_configuration_has_the_published_parameter_count():
    full = count_parameters(CLformer(CLformerConfig.full()))
    assert abs(full - PUBLISHED_PARAMETERS) / PUBLISHED_PARAMETERS < 0.02
    assert full == 33_655_424  # the exact count of the authors' module too, for 3 -> 3 bands
    summary = arch_summary("clformer")
    assert (summary["full_parameters"], summary["multiple"]) == (full, MULTIPLE) and MULTIPLE == 8
    assert summary["lite_parameters"] == count_parameters(CLformer(CLformerConfig.lite()))


def test_lite_keeps_every_named_block_with_fewer_channels():
    full, lite = CLformer(CLformerConfig.full()), CLformer(CLformerConfig.lite())
    assert [n for n, _ in full.named_children()] == [n for n, _ in lite.named_children()]
    assert _block_types(full) == _block_types(lite)
    named = {"AgMoE", "OperationAttention", "OperationLayer", "SepConv", "DilConv", "TransformerBlock",
             "TopSelectionAttention", "MDFFN", "LayerNorm2d", "Downsample", "Upsample"}  # fmt: skip
    assert named <= _block_types(lite)
    assert count_parameters(lite) < count_parameters(full) / 10


def test_top_k_sizes_are_the_papers_fractions():
    assert top_k_sizes(48) == (24, 32, 36, 38)  # int(C/2), int(2C/3), int(3C/4), int(4C/5)
    assert top_k_sizes(96) == (48, 64, 72, 76)


def test_top_selection_masks_keep_exactly_the_k_largest_entries_per_row():
    torch.manual_seed(0)
    attention = torch.randn(2, 3, 10, 10)
    attention[0, 0, 0] = 1.0  # a row of ties: still exactly k kept
    sizes = top_k_sizes(10)
    for k, mask in zip(sizes, top_selection_masks(attention, sizes), strict=True):
        assert set(mask.unique().tolist()) <= {0.0, 1.0}
        assert (mask.sum(-1) == k).all()
        kept = attention.masked_fill(mask == 0, float("inf")).amin(-1)
        dropped = attention.masked_fill(mask == 1, float("-inf")).amax(-1)
        assert (kept >= dropped).all()


def test_top_selection_attention_matches_the_four_branch_formulation():
    """One sorted top-k and one value product give the authors' four masked softmaxes, each applied
    to the values and mixed by the scalars."""
    torch.manual_seed(0)
    block = TopSelectionAttention(12, heads=2, bias=False).eval()
    with torch.no_grad():
        block.mix.copy_(torch.tensor([0.1, 0.4, -0.2, 0.7]))
        block.temperature.uniform_(0.5, 3.0)
    x = torch.randn(2, 12, 7, 9)
    b, c, h, w = x.shape
    with torch.no_grad():
        q, k, v = block.qkv_dwconv(block.qkv(x)).chunk(3, dim=1)
        q, k, v = (t.reshape(b, 2, c // 2, h * w) for t in (q, k, v))
        q, k = torch.nn.functional.normalize(q, dim=-1), torch.nn.functional.normalize(k, dim=-1)
        attention = (q @ k.transpose(-2, -1)) * block.temperature
        out = 0
        for i, size in enumerate(top_k_sizes(c // 2)):
            mask = torch.zeros_like(attention).scatter_(-1, attention.topk(size, dim=-1)[1], 1.0)
            selected = torch.where(mask > 0, attention, torch.full_like(attention, float("-inf")))
            out = out + (selected.softmax(-1) @ v) * block.mix[i]
        expected = block.project_out(out.reshape(b, c, h, w))
        torch.testing.assert_close(block(x), expected)


def test_agmoe_gate_weights_are_a_softmax_over_eight_operations_per_step():
    torch.manual_seed(0)
    block = AgMoE(8, steps=3)
    weights = block.gate(torch.randn(2, 8, 6, 6))
    assert weights.shape == (2, 3, 8)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3))
    assert block(torch.randn(2, 8, 6, 6)).shape == (2, 8, 6, 6)


@pytest.mark.parametrize("shape", [(1, 3, 32, 32), (2, 3, 37, 22), (1, 4, 13, 50)])
def test_any_size_input_gives_the_same_size(shape):
    torch.manual_seed(0)
    net = CLformer(dataclasses.replace(SMALL, in_channels=shape[1])).eval()
    with torch.no_grad():
        out = net(torch.rand(shape))
    assert out.shape == (shape[0], 3, *shape[2:]) and torch.isfinite(out).all()


def test_output_is_the_input_plus_a_learned_residual():
    torch.manual_seed(0)
    net = CLformer(SMALL).eval()
    torch.nn.init.zeros_(net.output.weight)
    x = torch.rand(1, 3, 24, 16)
    with torch.no_grad():
        assert torch.equal(net(x), x)


def test_lite_exports_to_onnx_opset_17_and_onnx_runtime_matches_pytorch(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    net = CLformer(CLformerConfig.lite()).eval()
    path = tmp_path / "clformer.onnx"
    axes = {0: "batch", 2: "height", 3: "width"}
    torch.onnx.export(
        net, torch.rand(1, 3, 32, 32), str(path), dynamo=False, opset_version=17,
        input_names=["rainy"], output_names=["derained"], dynamic_axes={"rainy": axes, "derained": axes},
    )  # fmt: skip
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for size in [(32, 32), (24, 40), (27, 21)]:  # the traced size, another multiple of 8, and not
        x = torch.rand(1, 3, *size)
        with torch.no_grad():
            expected = net(x).numpy()
        got = session.run(None, {"rainy": x.numpy()})[0]
        assert got.shape == expected.shape
        assert np.abs(got - expected).max() < 1e-4, size
