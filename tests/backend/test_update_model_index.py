from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from backend.package import sha256_file

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def script():
    """``scripts/update_model_index.py`` run as users run it; returns the finished process."""
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "scripts.update_model_index", *args], cwd=REPO_ROOT,
                              capture_output=True, text=True)  # fmt: skip

    return run


def test_writes_checksums_keeps_defaults_and_checks(script, tmp_path: Path, models: dict[str, Path]) -> None:
    for name in ("identity", "conv", "fill"):
        shutil.copy(models[name], tmp_path / f"{name}.onnx")
    (tmp_path / "index.json").write_text(json.dumps({"models": [{"file": "identity.onnx", "default": True}]}))
    assert script("--dir", str(tmp_path)).returncode == 0
    entries = {e["file"]: e for e in json.loads((tmp_path / "index.json").read_text())["models"]}
    assert entries["identity.onnx"]["sha256"] == sha256_file(tmp_path / "identity.onnx")
    assert entries["identity.onnx"]["default"] and not entries["conv.onnx"]["default"]
    assert entries["fill.onnx"]["default"] and entries["fill.onnx"]["task"] == "fill_gaps"
    assert script("--dir", str(tmp_path), "--check").returncode == 0
    with open(tmp_path / "conv.onnx", "ab") as handle:
        handle.write(b"changed")
    assert script("--dir", str(tmp_path), "--check").returncode == 1


def test_the_shipped_index_is_current(script) -> None:
    checked = script("--check")
    assert checked.returncode == 0, checked.stderr


def test_each_stage_of_a_staged_task_gets_a_default(script, tmp_path: Path) -> None:
    from tests.support import tiny_models

    tiny_models.derain_stage_model(tmp_path / "a-derain.onnx", name="a-derain")
    tiny_models.fuse_model(tmp_path / "b-fuse.onnx", name="b-fuse", stage="fuse")
    tiny_models.fuse_model(tmp_path / "c-fuse.onnx", name="c-fuse", stage="fuse")
    assert script("--dir", str(tmp_path)).returncode == 0
    entries = {e["file"]: e for e in json.loads((tmp_path / "index.json").read_text())["models"]}
    assert entries["a-derain.onnx"]["default"] and entries["b-fuse.onnx"]["default"]
    assert not entries["c-fuse.onnx"]["default"]
