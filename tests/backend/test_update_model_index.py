from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from backend.package import sha256_file

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "update_model_index.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("update_model_index", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_writes_checksums_keeps_defaults_and_checks(script, tmp_path: Path, models: dict[str, Path]) -> None:
    for name in ("identity", "conv", "fill"):
        shutil.copy(models[name], tmp_path / f"{name}.onnx")
    (tmp_path / "index.json").write_text(json.dumps({"models": [{"file": "identity.onnx", "default": True}]}))
    assert script.main(["--dir", str(tmp_path)]) == 0
    entries = {e["file"]: e for e in json.loads((tmp_path / "index.json").read_text())["models"]}
    assert entries["identity.onnx"]["sha256"] == sha256_file(tmp_path / "identity.onnx")
    assert entries["identity.onnx"]["default"] and not entries["conv.onnx"]["default"]
    assert entries["fill.onnx"]["default"] and entries["fill.onnx"]["task"] == "fill_gaps"
    assert script.main(["--dir", str(tmp_path), "--check"]) == 0
    with open(tmp_path / "conv.onnx", "ab") as handle:
        handle.write(b"changed")
    assert script.main(["--dir", str(tmp_path), "--check"]) == 1


def test_the_shipped_index_is_current(script, capsys) -> None:
    # the export script writes the index by the same rules, so shipping a model keeps this true
    assert script.main(["--check"]) == 0, capsys.readouterr().err


def test_each_stage_of_a_staged_task_gets_a_default(script, tmp_path: Path) -> None:
    from tests.support import tiny_models

    tiny_models.derain_stage_model(tmp_path / "a-derain.onnx", name="a-derain")
    tiny_models.fuse_model(tmp_path / "b-fuse.onnx", name="b-fuse", stage="fuse")
    tiny_models.fuse_model(tmp_path / "c-fuse.onnx", name="c-fuse", stage="fuse")
    entries = {e["file"]: e for e in script.build_index(tmp_path)["models"]}
    assert entries["a-derain.onnx"]["default"] and entries["b-fuse.onnx"]["default"]
    assert not entries["c-fuse.onnx"]["default"]
