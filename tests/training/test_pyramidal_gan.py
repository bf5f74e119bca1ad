"""The TGRS pyramidal GAN: its size, blocks, soft mask, hard-mask composite, reference, ONNX."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from training.archs import arch_summary, build_arch, count_parameters
from training.archs.inpaint_sanet import CoarseNet, GatedConv, SelfAttention
from training.archs.pyramidal_gan import (
    UIN,
    AttentionFusion,
    DilatedPyramidalConv,
    FusionRefineNet,
    MaskEstimationNet,
    PyramidalGAN,
    PyramidalGANConfig,
    mask_estimation_loss,
)

torch.set_num_threads(1)

FULL_PARAMETERS = 6_442_794  # this implementation at the GRSL widths (no published count)
TINY = {"width": 8, "men_width": 4, "dpc_layers": 1}


def _net(in_channels: int, **config) -> PyramidalGAN:
    torch.manual_seed(0)
    return PyramidalGAN(PyramidalGANConfig(in_channels=in_channels, **{**TINY, **config})).eval()


def _full_input(height: int, width: int, *, mask_flag: float = 1.0, reference: bool = True,
                seed: int = 0) -> torch.Tensor:  # fmt: skip
    """[image, mask, mask flag, reference, reference flag] for RGB (9 bands)."""
    gen = torch.Generator().manual_seed(seed)
    image = torch.rand(1, 3, height, width, generator=gen) * 2 - 1
    mask = (torch.rand(1, 1, height, width, generator=gen) > 0.7).float()
    ref = torch.rand(1, 3, height, width, generator=gen) * 2 - 1
    flag = torch.full_like(mask, mask_flag)
    present = torch.full_like(mask, 1.0 if reference else 0.0)
    return torch.cat([image * (1 - mask), mask * mask_flag, flag, ref * present, present], dim=1)


def _block_types(net: torch.nn.Module) -> list[str]:
    return [type(m).__name__ for m in net.modules()]


def test_parameter_counts_are_pinned_and_listed():
    full = PyramidalGAN(PyramidalGANConfig.full())
    lite = PyramidalGAN(PyramidalGANConfig.lite())
    assert count_parameters(full) == FULL_PARAMETERS
    assert count_parameters(lite) == 788_054
    summary = arch_summary("pyramidal_gan")
    assert (summary["full_parameters"], summary["lite_parameters"]) == (FULL_PARAMETERS, 788_054)
    assert summary["multiple"] == 4
    # The optional inputs do not change the network: one set of weights for every layout.
    for in_channels in (5, 9):
        assert count_parameters(PyramidalGAN(PyramidalGANConfig(in_channels=in_channels))) == FULL_PARAMETERS
    with pytest.raises(ValueError, match="pyramidal GAN takes 3 image bands"):
        PyramidalGAN(PyramidalGANConfig(in_channels=4))


def test_lite_keeps_every_block_type():
    full, lite = PyramidalGAN(PyramidalGANConfig.full()), PyramidalGAN(PyramidalGANConfig.lite())
    named = {"MaskEstimationNet", "UIN", "CoarseNet", "FusionRefineNet", "DilatedPyramidalConv",
             "AttentionFusion", "SelfAttention", "GatedConv", "GatedDeconv", "GatedDecoder"}  # fmt: skip
    assert named <= set(_block_types(lite)) and set(_block_types(lite)) == set(_block_types(full))
    assert isinstance(lite.men, MaskEstimationNet) and isinstance(lite.uin, UIN)
    assert isinstance(lite.uin.coarse, CoarseNet) and isinstance(lite.uin.refine, FusionRefineNet)
    assert isinstance(lite.uin.refine.attention, SelfAttention)
    assert isinstance(lite.uin.refine.fusion, AttentionFusion)
    assert all(isinstance(m, DilatedPyramidalConv) for m in lite.uin.coarse.context)
    assert count_parameters(lite) < count_parameters(full) / 5


def test_dilated_pyramidal_conv_concatenates_branches_of_growing_reach():
    torch.manual_seed(0)
    block = DilatedPyramidalConv(16).eval()
    assert [b.conv.dilation[0] for b in block.branches] == [1, 2, 4, 8]
    assert all(isinstance(b, GatedConv) for b in block.branches)
    x = torch.zeros(1, 16, 33, 33, requires_grad=True)
    out = block(x)
    assert out.shape == x.shape
    # The gradient of the centre pixel of each branch reaches 1, 2, 4, 8 cells away, no further.
    for i, reach in enumerate((1, 2, 4, 8)):
        (grad,) = torch.autograd.grad(out[0, 4 * i : 4 * i + 4, 16, 16].sum(), x, retain_graph=True)
        rows = grad[0].abs().sum(dim=(0, 2)).nonzero().flatten()
        assert (rows.min().item(), rows.max().item()) == (16 - reach, 16 + reach)


def test_attention_fusion_is_a_convex_gate_that_starts_at_the_mean():
    torch.manual_seed(0)
    fusion = AttentionFusion(8)
    a, c = torch.randn(2, 8, 5, 6), torch.randn(2, 8, 5, 6)
    assert torch.allclose(fusion(a, c), (a + c) / 2, atol=1e-6)
    torch.nn.init.normal_(fusion.gate.weight)
    g = fusion.weights(a, c)
    assert (g > 0).all() and (g < 1).all()
    out = fusion(a, c)
    assert torch.allclose(out, g * a + (1 - g) * c, atol=1e-6)
    assert (out <= torch.maximum(a, c) + 1e-6).all() and (out >= torch.minimum(a, c) - 1e-6).all()


def test_soft_mask_is_in_the_unit_interval_and_its_loss_is_bce():
    net = _net(3)
    x = torch.randn(2, 3, 36, 28) * 10  # far outside the data range
    with torch.no_grad():
        coarse, refined, soft = net(x)
    assert soft.shape == (2, 1, 36, 28) and (soft >= 0).all() and (soft <= 1).all()
    assert coarse.shape == refined.shape == (2, 3, 36, 28)
    target = (torch.rand(2, 1, 36, 28) > 0.5).float()
    expected = torch.nn.functional.binary_cross_entropy(soft, target)
    assert mask_estimation_loss(soft, target).item() == pytest.approx(expected.item(), rel=1e-5)
    assert isinstance(MaskEstimationNet(3, 4)(torch.rand(1, 3, 8, 8)), torch.Tensor)


def test_hard_mask_keeps_every_valid_pixel_exactly():
    for in_channels in (5, 9):
        net = _net(in_channels)
        x = _full_input(32, 44)[:, :in_channels]
        image, mask = x[:, :3], x[:, 3:4]
        x_garbage = x.clone()
        x_garbage[:, :3] = torch.where(mask.bool(), torch.full_like(image, 1e4), image)
        with torch.no_grad():
            _, refined, _ = net(x)
            _, refined_garbage, _ = net(x_garbage)
        valid = (mask == 0).expand_as(image)
        assert torch.equal(refined[valid], image[valid])
        assert torch.equal(refined, refined_garbage)
        assert not torch.equal(refined[~valid], image[~valid])


def test_without_a_hard_mask_the_soft_mask_composites():
    net = _net(5)
    x = _full_input(24, 24, mask_flag=0.0)[:, :5]  # zeros + flag 0: no hard mask
    with torch.no_grad():
        _, refined, soft = net(x)
        _, refined_image_only, soft_image_only = _net(3)(x[:, :3])
    image = x[:, :3]
    assert torch.equal(soft, soft_image_only) and torch.equal(refined, refined_image_only)
    # Where the soft mask is 0 the pixel is the input's; in between, a blend.
    with torch.no_grad():
        prediction = (refined - image * (1 - soft)) / soft.clamp_min(1e-6)
    assert torch.allclose(image * (1 - soft) + prediction * soft, refined, atol=1e-5)


def test_reference_absent_runs_and_ignores_what_lies_in_its_bands():
    net = _net(9)
    absent = _full_input(28, 20, reference=False)
    assert torch.count_nonzero(absent[:, 5:9]) == 0
    noisy = absent.clone()
    noisy[:, 5:8] = torch.randn(1, 3, 28, 20)  # flag 0: the reference bands are ignored
    present = _full_input(28, 20, reference=True)
    with torch.no_grad():
        out_absent = net(absent)[1]
        assert torch.equal(out_absent, net(noisy)[1])
        assert not torch.equal(out_absent, net(present)[1])
    assert torch.isfinite(out_absent).all()


@pytest.mark.parametrize("shape", [(1, 9, 32, 32), (2, 9, 37, 22), (1, 5, 13, 9), (1, 3, 6, 17)])
def test_any_size_input_gives_the_same_size(shape):
    net = _net(shape[1])
    x = _full_input(*shape[2:])[:, : shape[1]].expand(shape[0], -1, -1, -1)
    with torch.no_grad():
        coarse, refined, soft = net(x)
    assert coarse.shape == refined.shape == (shape[0], 3, *shape[2:])
    assert soft.shape == (shape[0], 1, *shape[2:]) and torch.isfinite(refined).all()


def test_lite_exports_to_onnx_and_onnx_runtime_matches_pytorch(tmp_path):
    torch.manual_seed(0)
    net, _ = build_arch("pyramidal_gan", "lite", in_channels=9, out_channels=3)
    net.eval()
    path = tmp_path / "pyramidal_gan.onnx"
    dims = {0: "batch", 2: "height", 3: "width"}
    names = ["coarse", "refined", "soft_mask"]
    torch.onnx.export(net, (_full_input(48, 48),), str(path), opset_version=17, dynamo=False,
                      input_names=["x"], output_names=names,
                      dynamic_axes={"x": dims, **{n: dims for n in names}})  # fmt: skip
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for x in (_full_input(44, 53, seed=1), _full_input(40, 36, mask_flag=0.0, reference=False, seed=2)):
        got = session.run(None, {"x": x.numpy()})
        with torch.no_grad():
            expected = net(x)
        for a, b in zip(got, expected, strict=True):
            assert a.shape == tuple(b.shape) and np.abs(a - b.numpy()).max() < 1e-4
    x = _full_input(44, 53, seed=1)
    refined = session.run(["refined"], {"x": x.numpy()})[0]
    valid = (x[:, 3:4] == 0).expand(-1, 3, -1, -1).numpy()
    assert np.array_equal(refined[valid], x[:, :3].numpy()[valid])


# -- the fill_gaps spec around it: training stages, export, the engine ---------------------------


def test_restoration_model_trains_on_the_stages_and_hides_some_hard_masks():
    import dataclasses

    from training.losses import staged_loss
    from training.model import RestorationModel
    from training.specs import get_spec

    spec = get_spec("fill_gaps")
    assert spec.in_channels == 9 and spec.arch == "pyramidal_gan"
    torch.manual_seed(0)
    model = RestorationModel(_net(9), spec).train()
    assert model.staged
    x = torch.cat([_full_input(24, 24, seed=s) for s in range(16)])
    target = torch.rand(16, 3, 24, 24)
    pred = model(x)
    stages = model.stages
    assert set(stages) == {"coarse", "refined", "soft_mask", "mask", "used_mask"}
    assert torch.equal(stages["mask"], x[:, 3:4])  # the truth, also where the net did not see it
    hidden = (stages["used_mask"] != x[:, 3:4]).flatten(1).any(1)
    assert 0 < int(hidden.sum()) < 16  # HIDDEN_MASK_SHARE of the samples ran on the soft mask
    terms = staged_loss(stages, target, spec.losses)
    assert set(terms) == {"masked_l1", "mask_bce", "total"} and torch.isfinite(terms["total"])
    terms["total"].backward()
    assert model.net.men.head.weight.grad.abs().sum() > 0 and pred.shape == target.shape
    model.eval()
    with torch.no_grad():
        out = model(x)
    keep = (x[:, 3:4] == 0).expand(-1, 3, -1, -1)
    assert torch.equal(out[keep], x[:, :3][keep])  # eval: every hard mask is used
    weights = dataclasses.replace(spec, losses={"masked_l1": 1.0}).losses
    assert set(staged_loss(stages, target, weights)) == {"masked_l1", "total"}


def test_lite_package_through_the_engine_changes_only_masked_pixels(tmp_path):
    from backend.pipeline import RestoreJob, restore
    from tests.support.rasters import make_raster, read_raster

    from .helpers import export_preset

    report, _, _ = export_preset(tmp_path, "fill_gaps", "pyramidal_gan", "lite")
    assert report.max_abs_diff < 1e-4
    rng = np.random.default_rng(3)
    data = rng.integers(200, 4000, size=(3, 70, 90)).astype(np.uint16)
    data[:, 30:34] = 0
    data[:, :, 50] = 0  # a dead column
    make_raster(tmp_path / "in.tif", data, nodata=0)
    reference = rng.integers(100, 3000, size=(3, 70, 90)).astype(np.uint16)
    make_raster(tmp_path / "ref.tif", reference)
    image, ref = tmp_path / "in.tif", tmp_path / "ref.tif"
    for inputs in ({"optical": image}, {"optical": image, "reference": ref}):
        name = "_".join(inputs)
        rasters = {k: str(v) for k, v in inputs.items()}
        result = restore(RestoreJob("fill_gaps", rasters, tmp_path / f"{name}.tif",
                                    model=str(report.path), tile_size=64, overlap=16,
                                    mask_output=tmp_path / f"{name}_mask.tif"))  # fmt: skip
        out, mask = read_raster(result.output), read_raster(result.mask_output)[0]
        gaps = (data == 0).all(axis=0)
        assert np.array_equal(mask.astype(bool), gaps)
        assert np.array_equal(out[:, ~gaps], data[:, ~gaps])  # only masked pixels change
        assert out.dtype == np.uint16 and (out[:, gaps] > 0).all()  # filled, not left as nodata


SHIPPED = Path(__file__).resolve().parents[2] / "resources" / "models" / "fill_gaps-pyramidal-lite.onnx"


@pytest.mark.skipif(not SHIPPED.exists(), reason="the shipped fill_gaps model is not in this checkout")
def test_without_nodata_the_estimated_mask_is_written_and_only_it_changes(tmp_path):
    """The shipped model's MEN finds stripes written as values (no nodata, no MASK): the mask output
    is its estimate and no pixel outside it changes."""
    from backend.pipeline import RestoreJob, restore
    from tests.support.rasters import make_raster, read_raster
    from training.synthesis.noise import smooth_noise

    rng = np.random.default_rng(4)
    data = np.stack([1000 + 2000 * smooth_noise((64, 80), rng, base_scale=16.0) for _ in range(3)])
    data = data.astype(np.uint16)
    data[:, 30:33] = 0  # a dead line written as zeros: no nodata, no MASK
    make_raster(tmp_path / "in.tif", data)
    result = restore(RestoreJob("fill_gaps", {"optical": str(tmp_path / "in.tif")}, tmp_path / "out.tif",
                                model=str(SHIPPED), mask_output=tmp_path / "mask.tif"))  # fmt: skip
    out, mask = read_raster(result.output), read_raster(result.mask_output)[0] > 0
    assert np.array_equal(out[:, ~mask], data[:, ~mask])  # the model's own mask: nothing else changes
    assert mask[30:33].mean() > 0.9 and mask.mean() < 0.2  # it found the line, not the whole image
    assert (out[:, 30:33][:, mask[30:33]] > 500).all()  # and filled it with ground-like values
