"""derain_fuse's two training specs: stage keys, aligned crops, the fusion stage's losses."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from training.archs.nitedr_fusion import NiteDRFusion, NiteDRFusionConfig
from training.data.datasets import Pair, PairCrops
from training.data.recipes import bound_synth
from training.losses import FUSION_LOSSES, build_loss, fusion_mse, fusion_ssim, sci_fidelity, sci_smooth
from training.specs import get_spec

torch.set_num_threads(1)


def test_each_stage_has_its_spec_and_the_task_asks_for_one():
    derain, fuse = get_spec("derain_fuse", "derain"), get_spec("derain_fuse.fuse")
    assert (derain.arch, derain.stage, derain.key) == ("clformer", "derain", "derain_fuse.derain")
    assert [s.role for s in derain.inputs] == ["optical"]
    assert (fuse.arch, fuse.stage) == ("nitedr_fusion", "fuse")
    assert [s.role for s in fuse.inputs] == ["optical", "infrared"]
    with pytest.raises(KeyError, match="runs in stages \\(derain, fuse\\)"):
        get_spec("derain_fuse")
    with pytest.raises(KeyError, match="has no stage 'blur'"):
        get_spec("derain_fuse", "blur")


def _ramp_pair() -> Pair:
    """Visible, infrared and clean images that are one ramp: aligned crops stay equal to each other."""
    ramp = (np.arange(80 * 96, dtype=np.float64).reshape(80, 96) % 251).astype(np.uint8)
    return Pair("ramp", {"optical": np.stack([ramp] * 3), "infrared": ramp[None]}, np.stack([ramp] * 3))


@pytest.mark.parametrize("stage", ["derain", "fuse"])
def test_visible_infrared_and_target_crops_share_one_window(stage, tmp_path):
    spec = get_spec("derain_fuse", stage)
    synth = bound_synth(spec, tmp_path)
    crops = PairCrops([_ramp_pair()], spec, synth, crop=32, length=8, seed=3, train=True)
    for index in range(8):
        deg = crops.degradation(index)
        infrared = deg.inputs["infrared"][0]
        # The night is a monotone map of the clean image (gain, gamma): where the infrared ramp
        # rises, so does the target (the same pixels of one window), up to the ramp's wrap at 251.
        order = np.argsort(infrared, axis=None)
        target = deg.target[0].ravel()[order]
        assert np.mean(np.diff(target) >= -1e-6) > 0.99


def _sources(fused_y, visible_y, infrared_y, fused=None, illumination=None):
    t = {"fused_y": fused_y, "visible_y": visible_y, "infrared_y": infrared_y}
    if fused is not None:
        t.update(fused=fused, illumination=illumination)
    return t


def test_fuser_losses_on_known_cases():
    y = torch.rand(2, 1, 24, 24, generator=torch.Generator().manual_seed(0)) * 2 - 1
    same = _sources(y, y, y)
    assert float(fusion_ssim(same)) == pytest.approx(0.0, abs=1e-5)
    assert float(fusion_mse(same)) == 0.0
    zeros, ones = torch.zeros(1, 1, 16, 16), torch.ones(1, 1, 16, 16)
    # The fused Y halfway between a visible -1 and an infrared +1 is 1 away from each: MSE 1.
    assert float(fusion_mse(_sources(zeros, -ones, ones))) == pytest.approx(1.0)
    # A fused Y equal to one source scores better than one equal to neither.
    other = torch.rand(2, 1, 24, 24, generator=torch.Generator().manual_seed(1)) * 2 - 1
    assert float(fusion_ssim(_sources(y, y, other))) < float(fusion_ssim(_sources(-y, y, other)))


def test_sci_losses_on_known_cases():
    image = torch.full((1, 3, 20, 20), 0.4)
    flat = torch.full((1, 3, 20, 20), 0.4)
    assert float(sci_fidelity(_sources(None, None, None, image, flat))) == 0.0
    assert float(sci_smooth(_sources(None, None, None, image, flat))) == 0.0
    step_light = flat.clone()
    step_light[..., 10:] = 0.9
    rough = float(sci_smooth(_sources(None, None, None, image, step_light)))
    assert rough > 0
    # The same illumination step where the image has an edge costs less (edge-aware weights).
    edged = image.clone()
    edged[..., 10:] = 0.9
    assert float(sci_smooth(_sources(None, None, None, edged, step_light))) < 0.1 * rough


def test_the_fusion_network_keeps_its_loss_inputs_and_trains_the_balance_apart():
    torch.manual_seed(0)
    net = NiteDRFusion(NiteDRFusionConfig()).train()
    x = torch.rand(2, 4, 16, 16)
    out = net(x)
    assert out.shape == (2, 3, 16, 16)
    assert set(net.loss_inputs) == {"fused_y", "visible_y", "infrared_y", "fused", "illumination"}
    loss = build_loss({"fusion_ssim": 1.0, "fusion_mse": 20.0, "sci_fidelity": 1.5, "sci_smooth": 1.0})
    terms = loss(out, x[:, :3], net.loss_inputs)
    assert set(terms) == set(FUSION_LOSSES) | {"total"}
    # The balance module's losses reach the balance module only, not the fuser.
    net.zero_grad()
    (terms["sci_fidelity"] + terms["sci_smooth"]).backward(retain_graph=True)
    assert all(p.grad is None or float(p.grad.abs().sum()) == 0 for p in net.fuser.parameters())
    assert any(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in net.balance.parameters())
    with pytest.raises(ValueError, match="reads the network's loss_inputs"):
        loss(out, x[:, :3], None)
