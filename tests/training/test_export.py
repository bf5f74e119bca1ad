"""Export: ONNX Runtime matches PyTorch, the card is valid and describes the graph."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch

from backend.model_card import ModelCard
from backend.package import read_card, validate_package
from training.archs import build_arch
from training.checkpoint import save_checkpoint
from training.cli import main
from training.export import export_checkpoint
from training.model import ExportModel, RestorationModel

from .helpers import tiny_spec

torch.set_num_threads(1)


def _checkpoint(tmp_path, task: str):
    spec = tiny_spec(task)
    torch.manual_seed(0)
    net, cfg = build_arch("tiny", "lite", in_channels=spec.in_channels, out_channels=spec.out_channels)
    model = RestorationModel(net, spec)
    path = tmp_path / f"{task}.pt"
    save_checkpoint(
        path, spec=spec, train_config=spec.lite, arch_config=cfg, model=model, step=7, best_psnr=21.5
    )
    return path, spec, model


@pytest.mark.parametrize("task", ["dehaze", "derain_fuse.fuse", "fill_gaps"])
def test_export_round_trip_matches_pytorch(tmp_path, task):
    ckpt, spec, model = _checkpoint(tmp_path, task)
    out = tmp_path / "models" / f"{task}_tiny.onnx"
    report = export_checkpoint(ckpt, out)
    assert report.max_abs_diff < 1e-4
    card = read_card(out)
    assert card == validate_package(out)
    assert ModelCard.from_json(card.to_json()) == card
    assert card.task == spec.task and card.stage == spec.stage and card.name == f"{task}_tiny"
    assert card.architecture.startswith("Tiny two-layer CNN (")
    assert [i.name for i in card.inputs] == [s.name for s in spec.inputs]
    assert card.outputs[0].like == spec.inputs[0].name and card.outputs[0].range == spec.output_range
    assert card.metrics["val_psnr_synthetic_db"] == 21.5 and card.parameters == report.parameters
    stage = f" --stage {spec.stage}" if spec.stage else ""
    assert card.training_data and f"--task {spec.task}{stage}:" in card.training_recipe
    # Our own check at another size, independent of export's: dynamic H and W.
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds = {s.name: rng.random((1, len(s.bands), 40, 24), dtype=np.float32) for s in spec.inputs}
    if task == "fill_gaps":
        feeds["gaps"] = (feeds["gaps"] > 0.5).astype(np.float32)
        feeds["reference"][:, -1] = feeds["reference"][:, -1] > 0.5
    got = session.run(None, feeds)
    with torch.no_grad():
        expected = ExportModel(model.eval(), spec)(*[torch.from_numpy(v) for v in feeds.values()])
    expected = expected if isinstance(expected, tuple) else (expected,)
    assert len(got) == len(expected) == (2 if task == "fill_gaps" else 1)
    for g, e in zip(got, expected, strict=True):
        assert g.shape[-2:] == (40, 24)
        assert np.abs(g - e.numpy()).max() < 1e-4


def test_fill_gaps_export_keeps_valid_pixels(tmp_path):
    ckpt, spec, _ = _checkpoint(tmp_path, "fill_gaps")
    out = tmp_path / "gaps.onnx"
    export_checkpoint(ckpt, out)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    image = np.random.default_rng(1).random((1, 3, 16, 16), dtype=np.float32)
    mask = np.zeros((1, 1, 16, 16), dtype=np.float32)
    mask[..., 5:8, :] = 1
    gaps = np.concatenate([mask, np.ones_like(mask)], axis=1)  # the mask and its validity plane
    reference = np.zeros((1, 4, 16, 16), dtype=np.float32)  # absent: zeros, validity 0
    restored, mask_out = session.run(None, {"image": image, "gaps": gaps, "reference": reference})
    np.testing.assert_array_equal(restored[..., mask[0, 0] == 0], image[..., mask[0, 0] == 0])
    np.testing.assert_array_equal(mask_out, mask)


def test_export_cli_reports_the_difference(tmp_path, capsys):
    ckpt, _, _ = _checkpoint(tmp_path, "dehaze")
    assert main(["export", str(ckpt), "--out", str(tmp_path / "m.onnx"), "--name", "haze-test"]) == 0
    assert "max abs difference" in capsys.readouterr().out
    assert read_card(tmp_path / "m.onnx").name == "haze-test"
    assert main(["export", str(tmp_path / "missing.pt"), "--out", str(tmp_path / "x.onnx")]) == 2


def test_push_pull_fill_keeps_valid_pixels_and_interpolates_gaps():
    from training.model import push_pull_fill

    yy, xx = torch.meshgrid(torch.arange(45.0), torch.arange(70.0), indexing="ij")
    ramp = torch.stack([xx / 70, yy / 45, (xx + yy) / 115])[None]
    valid = torch.ones(1, 1, 45, 70)
    valid[..., 10:30, 20:44] = 0  # a 20 x 24 hole
    valid[..., 3:5, :] = 0  # a dead line
    filled = push_pull_fill(ramp * valid, valid)
    assert torch.equal(filled[valid.expand_as(filled) > 0], ramp[valid.expand_as(ramp) > 0])
    assert (filled - ramp).abs().max() < 0.08  # smooth data: the fill is close to the truth
    assert (filled - ramp).abs().max() < (ramp * valid - ramp).abs().max() / 4
