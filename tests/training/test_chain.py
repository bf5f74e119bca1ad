"""Named configs: stages planned from the spec, run in order from each other's weights, resumable,
and recorded in every checkpoint so that export writes the whole recipe into the card."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from training import chain
from training.chain import DONE, plan, run_config
from training.checkpoint import load_checkpoint
from training.config import NamedConfig, Stage
from training.data.datasets import SceneCrops
from training.export import export_checkpoint
from training.specs import config_names, get_config, get_spec
from training.synthesis import SYNTHESES

from .helpers import tiny_scene, tiny_spec

torch.set_num_threads(1)


def test_a_plan_applies_each_stage_to_the_spec_and_shares_the_budget():
    config = NamedConfig(stages=(
        Stage(train={"minutes": 30.0, "lr": 4e-4}),
        Stage(train={"minutes": 10.0, "lr": 1e-4}, arch={"attention_window": 15},
              synthesis={"light_share": 0.15}, bands=("blue", "green", "red", "nir"),
              scene_context=(1.0, 50.0)),
    ))  # fmt: skip
    first, second = plan(get_spec("dehaze"), config, {"minutes": 8.0, "crop": 64, "lr": None})
    assert (first.train_config.minutes, second.train_config.minutes) == (6.0, 2.0)  # 3 : 1
    assert first.train_config.crop == second.train_config.crop == 64
    assert (first.train_config.lr, second.train_config.lr) == (4e-4, 1e-4)  # None overrides nothing
    assert first.arch_config["attention_window"] is None and second.arch_config["attention_window"] == 15
    assert second.arch_config["ngf"] == 16  # the lite preset, changed only where the stage says
    assert second.arch_config["in_channels"] == 4 and second.arch_config["context_features"] == 8
    assert second.spec.synthesis == {"light_share": 0.15} and first.spec.synthesis == {}
    assert second.spec.inputs[0].context.name == "hazy_context"


def test_the_shipped_dehaze_recipe_is_a_named_config_and_unknown_names_are_refused():
    assert "lite-1.1.0" in config_names("dehaze") and config_names("desand") == ("lite", "full")
    assert len(get_config("dehaze", "lite-1.1.0").stages) == 4
    assert get_spec("dehaze", config="lite-1.1.0").synthesis["airlight_angstrom"] == (0.0, 2.0)
    with pytest.raises(KeyError, match="no config 'nope'; known: lite, full, lite-1.1.0"):
        get_config("dehaze", "nope")
    with pytest.raises(ValueError, match="base"):
        Stage(base="medium")


@pytest.fixture
def tiny_data(monkeypatch):
    """``build_dataset`` on two tiny in-memory scenes: no shared data needed."""
    scenes = [tiny_scene("a", seed=0), tiny_scene("b", seed=1)]

    def build(spec, root, split, *, crop, length, seed, train):
        entry = SYNTHESES["haze"]
        config = entry.config_cls(**spec.synthesis)
        synth = lambda clean, rng: entry.synth(clean, rng, config, spec.inputs[0].bands)  # noqa: E731
        return SceneCrops(scenes, split, spec, synth, crop=crop, length=length, seed=seed, train=train,
                          block=32)

    monkeypatch.setattr(chain, "build_dataset", build)


def _two_stages():
    spec = tiny_spec("dehaze")
    config = NamedConfig(stages=(Stage(train={"steps": 6, "val_every": 3}),
                                 Stage(train={"steps": 4, "val_every": 2, "lr": 1e-3},
                                       synthesis={"light_share": 0.5})),
                         note="a test")  # fmt: skip
    return spec, plan(spec, config)


def test_stages_run_in_order_from_each_others_weights_and_the_card_names_them_all(tiny_data, tmp_path):
    _, stages = _two_stages()
    result = run_config("two", stages, root=tmp_path, out=tmp_path / "run", note="a test", progress=False)
    assert result.finished and result.out_dir == tmp_path / "run"
    assert (tmp_path / "run" / "stage1" / DONE).exists()
    final = load_checkpoint(tmp_path / "run" / "best.pt")
    first = load_checkpoint(tmp_path / "run" / "stage1" / "best.pt")
    assert final["init"] == str(tmp_path / "run" / "stage1" / "best.pt")
    assert [entry["step"] for entry in final["chain"]] == [first["step"]]
    assert final["train_config"]["lr"] == 1e-3 and final["task_spec"]["synthesis"] == {"light_share": 0.5}
    recipe = export_checkpoint(tmp_path / "run" / "best.pt", tmp_path / "two.onnx").card.training_recipe
    assert recipe.startswith("python -m training train --task dehaze --config two: 2 stages")
    assert "(1) arch tiny" in recipe and f"; {first['step']} steps" in recipe
    assert '(2) arch tiny' in recipe and 'synthesis {"light_share": 0.5}' in recipe
    assert recipe.endswith("seed 0 (a test)")


def test_a_stage_stopped_early_ends_the_call_and_resume_goes_on_from_it(tiny_data, tmp_path):
    _, stages = _two_stages()
    out = tmp_path / "run"
    stopped = run_config("two", stages, root=tmp_path, out=out, progress=False, stop_after=2)
    assert not stopped.finished and stopped.out_dir == out / "stage1" and not (out / "stage1" / DONE).exists()
    assert not (out / "best.pt").exists()
    resumed = run_config("two", stages, root=tmp_path, out=out, progress=False, resume=True)
    assert resumed.finished and (out / "stage1" / DONE).exists()
    assert load_checkpoint(out / "stage1" / "last.pt")["step"] == 6
    assert load_checkpoint(out / "last.pt")["step"] == 4


def test_weights_from_another_band_set_are_carried_over_or_refused(tiny_data, tmp_path):
    spec = dataclasses.replace(get_spec("dehaze"), arch="hsmr")
    rgb = plan(spec, NamedConfig(stages=(Stage(train={"steps": 1, "val_every": 1, "val_samples": 2,
                                                      "batch_size": 2, "crop": 32}, arch={"ngf": 8}),)))
    run_config("rgb", rgb, root=tmp_path, out=tmp_path / "rgb", progress=False)
    (bgrn,) = plan(spec, NamedConfig(stages=(Stage(arch={"ngf": 8}, bands=("blue", "green", "red", "nir")),)))
    checkpoint = load_checkpoint(tmp_path / "rgb" / "best.pt")
    state = chain.initial_weights(checkpoint, bgrn, tmp_path / "rgb" / "best.pt")
    assert state["down1.0.1.weight"].shape[1] == 4  # the stem takes four bands now
    tiny = dataclasses.replace(bgrn, spec=dataclasses.replace(bgrn.spec, arch="tiny"))
    with pytest.raises(ValueError, match="cannot carry weights across band sets"):
        chain.initial_weights(checkpoint, tiny, tmp_path / "rgb" / "best.pt")
