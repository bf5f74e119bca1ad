"""Issue 24, item 5: one bad index file never breaks the other models; index paths stay in their folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from backend import registry
from backend.cli import main
from backend.errors import ModelIntegrityError
from tests.backend.conftest import write_index
from tests.support import tiny_models
from tests.support.rasters import make_raster

BAD_INDEXES = {
    "nested": "[" * 100_000 + "]" * 100_000,
    "not_json": "{this is not json",
    "file_is_a_number": json.dumps({"models": [{"file": 123, "task": "dehaze", "name": "x"}]}),
    "parent_path": json.dumps({"models": [{"file": "../../etc/passwd", "task": "dehaze", "name": "x"}]}),
    "absolute_path": json.dumps({"models": [{"file": "/etc/passwd", "task": "dehaze", "name": "x"}]}),
    "not_an_object": json.dumps([1, 2, 3]),
    "bad_sha": json.dumps({"models": [{"file": "m.onnx", "sha256": ["x"]}]}),
}


@pytest.fixture()
def good_and_bad(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.mkdir()
    bad.mkdir()
    tiny_models.identity_model(good / "id.onnx")
    write_index(good, [{"file": "id.onnx", "task": "dehaze", "name": "id", "default": True}])
    monkeypatch.setenv(registry.ENV_VAR, os.pathsep.join([str(good), str(bad)]))
    monkeypatch.setattr(registry, "shipped_models_dir", lambda: tmp_path / "no-shipped-models")
    return good, bad


@pytest.mark.parametrize("kind", sorted(BAD_INDEXES))
def test_a_bad_index_is_named_and_does_not_break_the_others(
        kind: str, good_and_bad: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _, bad = good_and_bad
    index = bad / "index.json"
    index.write_text(BAD_INDEXES[kind], encoding="utf-8")
    with pytest.raises(ModelIntegrityError, match=str(index)):
        registry.read_index(bad)
    assert main(["models"]) == 0
    captured = capsys.readouterr()
    assert "id" in captured.out and str(index) in captured.err
    assert main(["diagnose", "--json"]) == 0
    assert str(index) in json.loads(capsys.readouterr().out)["index_problems"][0]
    make_raster(tmp_path / "in.tif", np.ones((3, 16, 16), np.float32))
    assert main(["restore", "--task", "dehaze", str(tmp_path / "in.tif"), str(tmp_path / "out.tif")]) == 0
    capsys.readouterr()
    code = main(["restore", "--task", "dehaze", "--model", "x", str(tmp_path / "in.tif"),
                 str(tmp_path / "out2.tif")])
    err = capsys.readouterr().err
    assert code == 1 and str(index) in err and "internal error" not in err
    assert len(err.strip().splitlines()) == 1


def test_an_index_entry_cannot_reach_outside_its_folder_through_a_symlink(
        good_and_bad: tuple[Path, Path], tmp_path: Path) -> None:
    _, bad = good_and_bad
    outside = tiny_models.identity_model(tmp_path / "outside.onnx", name="outside")
    (bad / "link.onnx").symlink_to(outside)
    write_index(bad, [{"file": "link.onnx", "task": "dehaze", "name": "outside"}])
    with pytest.raises(ModelIntegrityError, match="outside that folder"):
        registry.resolve_model("dehaze", "outside")
    assert "outside" not in [m.name for m in registry.list_models()]


def test_an_upper_case_checksum_is_a_checksum(good_and_bad: tuple[Path, Path]) -> None:
    good, _ = good_and_bad
    index = good / "index.json"
    data = json.loads(index.read_text())
    data["models"][0]["sha256"] = data["models"][0]["sha256"].upper()
    index.write_text(json.dumps(data))
    assert registry.resolve_model("dehaze").name == "id"
    (good / "id.onnx").write_bytes((good / "id.onnx").read_bytes() + b"x")
    with pytest.raises(ModelIntegrityError, match="sha256"):
        registry.resolve_model("dehaze")
