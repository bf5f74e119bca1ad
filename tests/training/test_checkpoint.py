"""Checkpoints are unpickled with weights_only: a hostile file cannot run code (issue 24, item 8)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from training.checkpoint import load_checkpoint  # noqa: E402


class _RunsCode:
    """What a hostile checkpoint holds: unpickling it calls ``os.getcwd`` (could be anything)."""

    def __reduce__(self):
        return (os.getcwd, ())


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"format": 1, "model": {}, "payload": _RunsCode()}, path)
    with pytest.raises(ValueError, match="trusted=True"):
        load_checkpoint(path)
    assert load_checkpoint(path, trusted=True)["payload"] == os.getcwd()


def test_plain_checkpoints_still_load(tmp_path: Path) -> None:
    path = tmp_path / "ok.pt"
    torch.save({"format": 1, "model": {"w": torch.ones(2)}, "step": 3, "best_psnr": float("-inf")}, path)
    assert load_checkpoint(path)["step"] == 3
