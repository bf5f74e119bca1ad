"""The training command on the real data recipes (skipped without ../shared/data)."""

from __future__ import annotations

import pytest
import torch

from training.checkpoint import load_checkpoint
from training.cli import main

torch.set_num_threads(1)


@pytest.mark.parametrize("task", ["fill_gaps", "derain_fuse.derain", "derain_fuse.fuse"])
def test_train_command_runs_on_the_real_recipe(shared_data, tmp_path, task, capsys):
    out = tmp_path / task
    task, _, stage = task.partition(".")
    # The fusion stage's losses read what NiteDR's fusion network keeps (the tiny CNN keeps nothing).
    arch = [] if stage == "fuse" else ["--arch", "tiny"]
    args = ["train", "--task", task, *(["--stage", stage] if stage else []), *arch,
            "--steps", "2", "--batch-size", "2", "--crop", "32",
            "--val-every", "2", "--val-samples", "2", "--data", str(shared_data), "--out", str(out),
            "--no-progress"]  # fmt: skip
    assert main(args) == 0
    state = load_checkpoint(out / "last.pt")
    assert state["step"] == 2 and state["task_spec"]["task"] == task
    assert state["task_spec"]["stage"] == stage
    assert "best val PSNR" in capsys.readouterr().out


def test_train_command_takes_a_wall_clock_budget_and_a_cosine(shared_data, tmp_path):
    out = tmp_path / "budget"
    args = ["train", "--task", "fill_gaps", "--arch", "tiny", "--steps", "100000", "--minutes", "0.02",
            "--schedule", "cosine", "--batch-size", "2", "--crop", "32", "--val-samples", "2",
            "--data", str(shared_data), "--out", str(out), "--no-progress"]  # fmt: skip
    assert main(args) == 0
    state = load_checkpoint(out / "last.pt")
    assert state["train_config"]["minutes"] == 0.02 and state["train_config"]["schedule"] == "cosine"
    assert 0 < state["step"] < 100000 and state["seconds"] >= 1.2


def test_bad_requests_exit_with_a_message(tmp_path, capsys):
    assert main(["train", "--task", "dehaze", "--crop", "512", "--data", str(tmp_path), "--steps", "1"]) == 2
    assert "error:" in capsys.readouterr().err
    assert main(["evaluate", "--task", "dehaze", "--model", str(tmp_path / "none.onnx")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_analyze_hands_the_rest_of_the_line_to_the_named_analysis(monkeypatch):
    from training import analyses
    from training.cli import build_parser

    seen = []
    monkeypatch.setitem(analyses.ANALYSES, "headroom", (lambda argv: seen.append(argv) or 0, "help"))
    assert main(["analyze", "--threads", "1", "headroom", "--sets", "rs_haze_max", "--data", "x"]) == 0
    assert seen == [["--sets", "rs_haze_max", "--data", "x"]]
    with pytest.raises(SystemExit):  # only registered names
        build_parser().parse_args(["analyze", "no_such_analysis"])
