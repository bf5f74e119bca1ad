"""A task that runs in stages (derain_fuse: de-rain, then fuse): chaining, stage outputs, cleanup."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from backend import registry
from backend.errors import CancelledError, InvalidOptionError, ModelCardError, ModelNotFoundError
from backend.model_card import ModelCard
from backend.package import read_card
from backend.pipeline import RestoreJob, restore
from tests.backend.conftest import write_index
from tests.support import tiny_models
from tests.support.rasters import make_raster, read_raster

VIS = np.linspace(0.1, 0.9, 3 * 40 * 56, dtype=np.float32).reshape(3, 40, 56)
IR = np.full((1, 40, 56), 0.2, np.float32)


def _only_models_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty model folder on the search path, the shipped models out of it."""
    monkeypatch.setattr(registry, "shipped_models_dir", lambda: tmp_path / "no-shipped-models")
    folder = tmp_path / "models"
    folder.mkdir()
    return folder


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Both stages installed as the task's defaults: derain halves the visible image, fuse averages
    it with the infrared."""
    folder = _only_models_in(tmp_path, monkeypatch)
    tiny_models.derain_stage_model(folder / "derain.onnx")
    tiny_models.fuse_model(folder / "fuse.onnx", name="test-fuse-stage", stage="fuse")
    write_index(folder, [
        {"file": "derain.onnx", "task": "derain_fuse", "name": "test-derain", "default": True},
        {"file": "fuse.onnx", "task": "derain_fuse", "name": "test-fuse-stage", "default": True},
    ])
    monkeypatch.setenv("RESTORE_MODELS_PATH", str(folder))
    return folder


@pytest.fixture
def rasters(tmp_path: Path) -> dict[str, Path]:
    data = tmp_path / "data"
    data.mkdir()
    return {"optical": make_raster(data / "vis.tif", VIS), "infrared": make_raster(data / "ir.tif", IR)}


def _out_folder(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    return out


def test_the_default_runs_both_stages_in_series(installed, rasters, tmp_path):
    out = _out_folder(tmp_path)
    seen: list[float] = []
    job = RestoreJob("derain_fuse", rasters, out / "fused.tif", tile_size=24)
    result = restore(job, progress=seen.append)
    assert np.allclose(read_raster(result.output), (VIS * 0.5 + IR) / 2, atol=1e-6)
    assert result.stage_models == {"derain": "test-derain", "fuse": "test-fuse-stage"}
    assert result.model == "test-derain -> test-fuse-stage"
    assert sorted(p.name for p in out.iterdir()) == ["fused.tif"]  # the intermediate raster is gone
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0)
    assert any(0 < f <= 0.5 for f in seen) and any(0.5 < f < 1 for f in seen)  # split over the stages
    assert "derain total" in result.seconds and "fuse total" in result.seconds


def test_the_derained_stage_output_is_written_on_request(installed, rasters, tmp_path):
    out = _out_folder(tmp_path)
    job = RestoreJob("derain_fuse", rasters, out / "fused.tif",
                     stage_outputs={"derain": out / "derained.tif"})
    result = restore(job)
    assert np.allclose(read_raster(out / "derained.tif"), VIS * 0.5, atol=1e-6)
    assert np.allclose(read_raster(result.output), (VIS * 0.5 + IR) / 2, atol=1e-6)
    assert result.stage_outputs == {"derain": out / "derained.tif"}
    assert sorted(p.name for p in out.iterdir()) == ["derained.tif", "fused.tif"]


def test_a_named_stage_model_replaces_only_its_stage(installed, rasters, tmp_path):
    better = tiny_models.derain_stage_model(tmp_path / "better.onnx", factor=0.25, name="better-derain")
    result = restore(RestoreJob("derain_fuse", rasters, _out_folder(tmp_path) / "a.tif", model=better))
    assert result.stage_models == {"derain": "better-derain", "fuse": "test-fuse-stage"}
    assert np.allclose(read_raster(result.output), (VIS * 0.25 + IR) / 2, atol=1e-6)
    job = RestoreJob("derain_fuse", rasters, _out_folder(tmp_path) / "b.tif", model="test-fuse-stage")
    by_name = restore(job)
    assert by_name.stage_models["derain"] == "test-derain"


def test_a_cancel_in_the_second_stage_leaves_no_file(installed, rasters, tmp_path):
    out = _out_folder(tmp_path)
    calls = {"n": 0}

    def cancel() -> bool:  # lets the first stage finish, then stops the second
        calls["n"] += 1
        return calls["n"] > 2

    job = RestoreJob("derain_fuse", rasters, out / "fused.tif",
                     stage_outputs={"derain": out / "derained.tif"})
    with pytest.raises(CancelledError):
        restore(job, cancel=cancel)
    assert list(out.iterdir()) == []  # neither the finished stage output nor a temporary file


def test_a_missing_stage_model_is_named(rasters, tmp_path, monkeypatch):
    folder = _only_models_in(tmp_path, monkeypatch)
    tiny_models.fuse_model(folder / "fuse.onnx", name="only-fuse", stage="fuse")
    write_index(folder, [{"file": "fuse.onnx", "task": "derain_fuse", "name": "only-fuse", "default": True}])
    monkeypatch.setenv("RESTORE_MODELS_PATH", str(folder))
    with pytest.raises(ModelNotFoundError, match="no model is installed for stage 'derain' of task"):
        restore(RestoreJob("derain_fuse", rasters, _out_folder(tmp_path) / "o.tif"))
    assert list(_out_folder(tmp_path).iterdir()) == []


def test_bad_stage_outputs_are_refused(installed, rasters, models, tmp_path):
    out = _out_folder(tmp_path)
    with pytest.raises(InvalidOptionError, match="no stage 'fuse' whose result") as error:
        restore(RestoreJob("derain_fuse", rasters, out / "o.tif", stage_outputs={"fuse": out / "f.tif"}))
    assert error.value.options == ("stage_outputs",)
    with pytest.raises(InvalidOptionError, match="does the whole task in one step"):
        restore(RestoreJob("derain_fuse", rasters, out / "o.tif", model=models["fuse"],
                           stage_outputs={"derain": out / "d.tif"}))  # fmt: skip
    assert list(out.iterdir()) == []


def test_a_one_step_model_of_a_staged_task_still_runs_alone(rasters, models, tmp_path):
    job = RestoreJob("derain_fuse", rasters, _out_folder(tmp_path) / "o.tif", model=models["fuse"])
    result = restore(job)
    assert np.allclose(read_raster(result.output), (VIS + IR) / 2, atol=1e-6)
    assert result.stage_models == {}


def test_the_card_stage_must_be_a_stage_of_its_task(tmp_path):
    card = read_card(tiny_models.derain_stage_model(tmp_path / "d.onnx"))
    assert card.stage == "derain" and card.schema_version == 3
    assert ModelCard.from_json(card.to_json()) == card
    with pytest.raises(ModelCardError, match="stage 'blur' is not a stage of task 'derain_fuse'"):
        ModelCard.from_json(dataclasses.replace(card, stage="blur").to_json())
    with pytest.raises(ModelCardError, match="needs schema_version 3"):
        ModelCard.from_json(dataclasses.replace(card, schema_version=2).to_json())
    dehaze = read_card(tiny_models.identity_model(tmp_path / "i.onnx"))
    assert "stage" not in dehaze.to_dict()  # older readers still take cards without a stage
    with pytest.raises(ModelCardError, match="the task has no stages"):
        ModelCard.from_json(dataclasses.replace(dehaze, stage="derain", schema_version=3).to_json())


def test_the_cli_writes_the_derained_image_with_its_flag(installed, rasters, models, tmp_path, capsys):
    from backend.cli import main

    out = _out_folder(tmp_path)
    code = main(["restore", "--task", "derain_fuse", "--derained", str(out / "derained.tif"),
                 str(rasters["optical"]), str(rasters["infrared"]), str(out / "fused.tif")])  # fmt: skip
    assert code == 0
    assert np.allclose(read_raster(out / "derained.tif"), VIS * 0.5, atol=1e-6)
    assert np.allclose(read_raster(out / "fused.tif"), (VIS * 0.5 + IR) / 2, atol=1e-6)
    printed = capsys.readouterr().out
    assert "test-derain -> test-fuse-stage" in printed and "derained.tif (derain stage)" in printed
    code = main(["restore", "--task", "derain_fuse", "--model", str(models["fuse"]), "--derained",
                 str(out / "d2.tif"), str(rasters["optical"]), str(rasters["infrared"]), str(out / "x.tif")])
    assert code == 1
    assert "--derained" in capsys.readouterr().err
