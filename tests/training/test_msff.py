"""SSDIE-Net's MSFF generator: the published size, its blocks, any-size input, ONNX export."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import torch

from tests.training.helpers import export_preset
from training.archs import arch_summary, count_parameters
from training.archs.msff import CrossScaleAttention, MSFFConfig, MSFFNet

torch.set_num_threads(1)

#: seed_models.md, section 2: the authors' MultiScaleFeatureFusionNetwork() measures 1.006 M.
PUBLISHED_PARAMETERS = 1_006_000


def test_full_configuration_has_the_published_parameter_count():
    full = count_parameters(MSFFNet(MSFFConfig.full()))
    assert abs(full - PUBLISHED_PARAMETERS) / PUBLISHED_PARAMETERS < 0.02
    assert full == 1_005_714  # the exact count of this implementation, for 3 -> 3 bands
    assert arch_summary("msff")["full_parameters"] == full


def test_lite_keeps_every_block_at_a_smaller_width():
    full, lite = MSFFNet(MSFFConfig.full()), MSFFNet(MSFFConfig.lite())
    assert [n for n, _ in full.named_children()] == [n for n, _ in lite.named_children()]
    assert {"E1", "E2", "E3_L1", "E3_L2", "A1", "A2", "D1_L2", "final"} <= {
        n for n, _ in lite.named_children()
    }
    assert count_parameters(lite) < count_parameters(full) / 3


def test_cross_scale_attention_starts_as_the_identity_of_its_query_and_mixes_the_other_scale():
    torch.manual_seed(0)
    block = CrossScaleAttention(16)
    query, kv = torch.randn(2, 16, 6, 5), torch.randn(2, 16, 6, 5)
    assert torch.equal(block(query, kv), query)  # gamma = 0
    with torch.no_grad():
        block.gamma.fill_(1.0)
    out = block(query, kv)
    assert not torch.allclose(out, query)
    # Each output position is the query plus a convex mix of the values of the other scale.
    mixed = (out - query).flatten(2)
    values = block.value(kv).flatten(2)
    assert (mixed.amax(-1) <= values.amax(-1) + 1e-5).all() and (
        mixed.amin(-1) >= values.amin(-1) - 1e-5
    ).all()


def test_any_size_input_gives_the_same_size_in_the_tanh_range():
    torch.manual_seed(0)
    net = MSFFNet(MSFFConfig(features=8)).eval()
    for shape in ((1, 3, 32, 32), (2, 3, 37, 22)):
        out = net(torch.randn(shape))
        assert out.shape == shape and out.abs().max() <= 1.0


def test_full_and_lite_export_and_onnx_runtime_matches_pytorch(tmp_path):
    for preset in ("lite", "full"):
        report, model, net = export_preset(tmp_path, "desand", "msff", preset)
        assert report.max_abs_diff < 1e-4
        assert report.card.architecture.startswith("SSDIE-Net MSFF (")
        assert report.parameters == count_parameters(net)
    session = ort.InferenceSession(str(report.path), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).uniform(-1, 0.6, (1, 3, 43, 50)).astype(np.float32)
    got = session.run(None, {"dusty": x})[0]
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    assert got.shape == x.shape and np.abs(got - expected).max() < 1e-4


def test_archs_json_lists_every_architecture_with_both_counts(capsys):
    import json

    from training.cli import main

    assert main(["archs", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["hsmr"]["full_parameters"] == 9_911_696
    assert rows["msff"]["full_parameters"] == 1_005_714 and rows["msff"]["multiple"] == 4
    assert all(r["lite_parameters"] <= r["full_parameters"] and r["paper"] for r in rows.values())
