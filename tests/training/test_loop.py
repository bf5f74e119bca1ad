"""A few training steps on tiny data lower the loss; runs log, checkpoint, plot and resume."""

from __future__ import annotations

import csv
import dataclasses

import numpy as np
import pytest
import torch

from backend.model_card import SceneContext
from training.checkpoint import load_checkpoint, model_from_checkpoint
from training.config import TrainConfig
from training.data.datasets import SceneCrops
from training.export import export_checkpoint
from training.loop import train
from training.losses import build_loss
from training.specs import get_spec
from training.synthesis import SYNTHESES

from .helpers import tiny_scene, tiny_spec

torch.set_num_threads(1)


def _datasets(spec, cfg):
    entry = SYNTHESES["haze"]
    synth = lambda clean, rng: entry.synth(clean, rng, entry.config_cls(), spec.inputs[0].bands)  # noqa: E731
    scenes = [tiny_scene("a", seed=0), tiny_scene("b", seed=1)]
    kw = {"crop": cfg.crop, "block": 32}
    train_set = SceneCrops(
        scenes, "train", spec, synth, length=cfg.steps * cfg.batch_size, seed=0, train=True, **kw
    )
    val_set = SceneCrops(scenes, "val", spec, synth, length=cfg.val_samples, seed=99, train=False, **kw)
    return train_set, val_set


def _loss_on(model, dataset, spec):
    batch = torch.utils.data.default_collate([dataset[i] for i in range(len(dataset))])
    with torch.no_grad():
        return float(build_loss(spec.losses)(model(batch["input"]), batch["target"])["total"])


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    spec = tiny_spec("desand", losses={"smooth_l1": 2.5, "ms_ssim": 0.5})
    cfg = spec.lite
    train_set, val_set = _datasets(spec, cfg)
    out = tmp_path_factory.mktemp("run")
    result = train(spec, cfg, train_set=train_set, val_set=val_set, out_dir=out, progress=False)
    return spec, cfg, train_set, val_set, out, result


def test_training_lowers_the_loss(run):
    spec, _, _, val_set, out, _ = run
    from training.archs import build_arch
    from training.model import RestorationModel

    torch.manual_seed(0)
    fresh = RestorationModel(build_arch("tiny", "lite")[0], spec).eval()
    trained, _ = model_from_checkpoint(load_checkpoint(out / "last.pt"))
    before, after = _loss_on(fresh, val_set, spec), _loss_on(trained, val_set, spec)
    assert after < 0.8 * before, (before, after)


def test_run_writes_csv_tensorboard_curve_and_checkpoints(run):
    _, cfg, _, _, out, result = run
    assert (out / "last.pt").is_file() and (out / "best.pt").is_file() and (out / "curve.png").is_file()
    assert any((out / "tb").iterdir())
    with open(out / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    val_steps = sorted({int(r["step"]) for r in rows if r["split"] == "val" and r["name"] == "psnr"})
    assert val_steps == [15, 30]
    train_losses = [float(r["value"]) for r in rows if r["split"] == "train" and r["name"] == "total"]
    assert len(train_losses) == cfg.steps // cfg.log_every
    assert result.steps == cfg.steps and np.isfinite(result.best_psnr)
    state = load_checkpoint(out / "last.pt")
    assert state["step"] == cfg.steps and state["arch"] == "tiny" and state["task_spec"]["task"] == "desand"


def test_resume_continues_exactly(run, tmp_path):
    spec, cfg, train_set, val_set, _, _ = run
    first = tmp_path / "resumed"
    train(spec, cfg, train_set=train_set, val_set=val_set, out_dir=first, progress=False, stop_after=12)
    state = load_checkpoint(first / "last.pt")
    assert state["step"] == 12
    train(spec, cfg, train_set=train_set, val_set=val_set, out_dir=first, resume=True, progress=False)
    resumed = load_checkpoint(first / "last.pt")
    assert resumed["step"] == cfg.steps
    straight = tmp_path / "straight"
    train(spec, cfg, train_set=train_set, val_set=val_set, out_dir=straight, progress=False)
    reference = load_checkpoint(straight / "last.pt")
    # Same data order and optimiser state: the resumed weights equal the uninterrupted run's.
    for name, value in reference["model"].items():
        torch.testing.assert_close(resumed["model"][name], value, rtol=1e-4, atol=1e-5)


def test_checkpoint_rejects_foreign_files(tmp_path):
    bogus = tmp_path / "x.pt"
    torch.save({"weights": 1}, bogus)
    with pytest.raises(ValueError, match="not a training checkpoint"):
        load_checkpoint(bogus)
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.pt")


def test_the_dehaze_scripts_former_checkpoints_load_under_this_formats_keys(run, tmp_path):
    spec, _, _, _, out, _ = run
    weights = load_checkpoint(out / "last.pt")["model"]
    former = {"arch": "tiny", "arch_config": {"in_channels": 3}, "spec": spec.to_dict(),
              "state_dict": weights, "step": 7, "args": {"lr": "0.0001"},
              "history": [{"step": 5, "val_psnr": 20.5}, {"step": 7, "val_psnr": 21.0}]}  # fmt: skip
    torch.save(former, tmp_path / "former.pt")
    state = load_checkpoint(tmp_path / "former.pt")
    assert state["model"] is not None and state["task_spec"] == spec.to_dict() and state["best_psnr"] == 21.0
    assert state["args"] == {"lr": "0.0001"} and state["step"] == 7
    with pytest.raises(ValueError, match="holds no training config"):
        export_checkpoint(tmp_path / "former.pt", tmp_path / "former.onnx")


def test_adversarial_training_logs_both_players(tmp_path):
    spec = tiny_spec("desand", losses={"smooth_l1": 2.5, "ms_ssim": 0.5})
    cfg = spec.lite.replace(steps=4, val_every=4, log_every=2, adversarial_weight=0.01)
    train_set, val_set = _datasets(spec, cfg)
    train(spec, cfg, train_set=train_set, val_set=val_set, out_dir=tmp_path, progress=False)
    with open(tmp_path / "metrics.csv", newline="") as f:
        names = {r["name"] for r in csv.DictReader(f) if r["split"] == "train"}
    assert {"adversarial", "discriminator", "smooth_l1", "ms_ssim", "total"} <= names
    assert load_checkpoint(tmp_path / "last.pt")["disc"] is not None


def _context_spec(arch: str = "hsmr"):
    """The dehaze spec with a scene context on its input and a small HSMR-Net."""
    (hazy,) = get_spec("dehaze").inputs
    config = {"ngf": 8, "n_blocks": 1, "norm": "batch", "head": "affine"}
    hazy = dataclasses.replace(hazy, context=SceneContext("hazy_context", (1, 50)))
    spec = tiny_spec("dehaze", inputs=(hazy,), arch=arch, arch_config={"lite": config, "full": config})
    return dataclasses.replace(spec, lite=spec.lite.replace(steps=4, val_every=4, log_every=2))


def test_a_scene_context_is_trained_with_and_exported_as_a_second_input(tmp_path):
    spec = _context_spec()
    cfg = spec.lite
    entry = SYNTHESES["haze"]
    synth = lambda clean, rng: entry.synth(clean, rng, entry.config_cls(), spec.inputs[0].bands)  # noqa: E731
    scenes = [tiny_scene("a", seed=0), tiny_scene("b", seed=1)]
    kw = {"crop": cfg.crop, "block": 32, "region": 32}
    train_set = SceneCrops(scenes, "train", spec, synth, length=16, seed=0, train=True, **kw)
    val_set = SceneCrops(scenes, "val", spec, synth, length=4, seed=9, train=False, **kw)
    assert train_set[0]["context"].shape == (6,)  # percentile-major: p1 of r, g, b, then p50
    train(spec, cfg, train_set=train_set, val_set=val_set, out_dir=tmp_path,
          arch_config=spec.arch_config["lite"], progress=False)  # fmt: skip
    state = load_checkpoint(tmp_path / "last.pt")
    assert state["arch_config"]["context_features"] == 6
    model, saved = model_from_checkpoint(state)
    assert saved.context_input.context == SceneContext("hazy_context", (1.0, 50.0))
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():  # the trained scene block makes the context matter
        assert (model(x, torch.zeros(2, 6)) - model(x, torch.full((2, 6), 0.5))).abs().max() > 1e-6
    report = export_checkpoint(tmp_path / "last.pt", tmp_path / "dehaze-context.onnx")
    assert report.card.inputs[0].context == SceneContext("hazy_context", (1.0, 50.0))
    assert report.max_abs_diff < 1e-3  # ONNX Runtime, fed image and context by name, matches PyTorch


def test_a_scene_context_for_an_architecture_without_one_is_refused(tmp_path):
    spec = _context_spec("tiny")
    with pytest.raises(ValueError, match="'tiny' takes no scene context"):
        train(spec, spec.lite, train_set=[], val_set=[], out_dir=tmp_path, arch_config="lite", progress=False)


def test_a_scene_context_spec_draws_its_crops_from_regions(monkeypatch, tmp_path):
    from training.data import recipes

    monkeypatch.setattr(recipes, "_scenes", lambda sources, root, bands: (tiny_scene("a", size=512),))
    kw = {"crop": 32, "length": 4, "seed": 0, "train": True}
    with_context = recipes.build_dataset(_context_spec(), tmp_path, "train", **kw)
    assert with_context.region == recipes.CONTEXT_REGION and with_context[0]["context"].shape == (6,)
    plain = recipes.build_dataset(tiny_spec("dehaze"), tmp_path, "train", **kw)
    assert plain.region is None and "context" not in plain[0]
    (dusty,) = get_spec("desand").inputs  # its recipe mixes in real photo pairs
    desand = tiny_spec("desand", inputs=(dataclasses.replace(dusty, context=SceneContext("c", (1,))),))
    with pytest.raises(ValueError, match="trains on real pairs"):
        recipes.build_dataset(desand, tmp_path, "train", **kw)


def test_the_schedules_step_down_or_follow_half_a_cosine():
    step = TrainConfig(lr_milestones=(0.5, 0.75), lr_gamma=0.5)
    assert [step.lr_factor(p) for p in (0.0, 0.49, 0.5, 0.8, 1.0)] == [1.0, 1.0, 0.5, 0.25, 0.25]
    cosine = TrainConfig(schedule="cosine")
    assert cosine.lr_factor(0.0) == 1.0 and cosine.lr_factor(0.5) == pytest.approx(0.5)
    assert cosine.lr_factor(1.0) == pytest.approx(0.0) and cosine.lr_factor(2.0) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="schedule"):
        TrainConfig(schedule="linear")
    scaled = TrainConfig(lr_scales=(("scene.", 10.0),), minutes=1.5)
    assert TrainConfig.from_dict(dataclasses.asdict(scaled)) == scaled


def test_a_wall_clock_budget_ends_the_run_and_drives_the_schedule(tmp_path):
    spec = tiny_spec("desand")
    cfg = dataclasses.replace(spec.lite, steps=10**6, minutes=0.03, schedule="cosine", val_every=10**6)
    train_set, val_set = _datasets(spec, dataclasses.replace(cfg, steps=1000))
    result = train(spec, cfg, train_set=train_set, val_set=val_set, out_dir=tmp_path, progress=False)
    state = load_checkpoint(tmp_path / "last.pt")
    assert 0 < result.steps < 10**6 and state["step"] == result.steps  # ended by the clock
    assert state["seconds"] >= 60 * cfg.minutes
    with open(tmp_path / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    lrs = [float(r["value"]) for r in rows if r["name"] == "lr"]
    assert lrs[0] > 0.5 * cfg.lr and lrs[-1] < 0.2 * cfg.lr  # the cosine ran its course in the budget
    assert any(r["split"] == "val" for r in rows)  # the budget's end is validated and saved


def test_fine_tuning_starts_from_given_weights_and_scales_a_blocks_rate(run, tmp_path):
    spec, cfg, train_set, val_set, out, _ = run
    trained = load_checkpoint(out / "last.pt")["model"]
    partial = {k: v for k, v in trained.items() if not k.startswith("body.2.")}
    with pytest.raises(ValueError, match="missing.*body.2"):
        train(spec, cfg, train_set=train_set, val_set=val_set, out_dir=tmp_path / "a", progress=False,
              init_state=partial, stop_after=1)  # fmt: skip
    scaled = dataclasses.replace(cfg, lr_scales=(("body.2.", 10.0),))
    train(spec, scaled, train_set=train_set, val_set=val_set, out_dir=tmp_path / "b", progress=False,
          init_state=partial, init_new=("body.2.",), stop_after=1,
          metadata={"args": {"lr": "x"}})  # fmt: skip
    state = load_checkpoint(tmp_path / "b" / "last.pt")
    assert state["args"] == {"lr": "x"}
    groups = {g["scale"]: g["lr"] for g in state["optimizer"]["param_groups"]}
    assert groups[10.0] == pytest.approx(10 * groups[1.0]) and groups[1.0] > 0
    # One step of a small rate from the trained weights stays near them; the new block does not.
    moved = (state["model"]["body.0.weight"] - trained["body.0.weight"]).abs().max()
    assert moved < 0.05 * trained["body.0.weight"].abs().max()
    fresh = (state["model"]["body.2.weight"] - trained["body.2.weight"]).abs().max()
    assert fresh > 10 * moved
