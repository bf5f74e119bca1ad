from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from backend import registry
from backend.errors import ModelIntegrityError, ModelNotFoundError, ModelTaskMismatchError, UnknownTaskError
from tests.backend.conftest import write_index


@pytest.fixture()
def folder(tmp_path: Path, models: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("identity", "conv", "fill"):
        shutil.copy(models[name], tmp_path / f"{name}.onnx")
    write_index(tmp_path, [
        {"file": "identity.onnx", "task": "dehaze", "name": "id", "default": False},
        {"file": "conv.onnx", "task": "dehaze", "name": "conv", "default": True},
        {"file": "fill.onnx", "task": "fill_gaps", "name": "fill"},
    ])
    monkeypatch.setenv(registry.ENV_VAR, str(tmp_path))
    # Only this folder's models: the shipped ones (resources/models) would come first otherwise.
    monkeypatch.setattr(registry, "shipped_models_dir", lambda: tmp_path / "no-shipped-models")
    return tmp_path


def test_list_models_per_task(folder: Path) -> None:
    assert [m.name for m in registry.list_models("dehaze")] == ["id", "conv"]
    assert {m.task for m in registry.list_models()} == {"dehaze", "fill_gaps"}


def test_resolve_default_name_and_path(folder: Path) -> None:
    assert registry.resolve_model("dehaze").name == "conv"
    assert registry.resolve_model("dehaze", "id").path == folder / "identity.onnx"
    assert registry.resolve_model("dehaze", folder / "identity.onnx").name == "id"


def test_checksum_mismatch_refuses_to_load(folder: Path) -> None:
    with open(folder / "conv.onnx", "ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(ModelIntegrityError, match="sha256"):
        registry.resolve_model("dehaze")


def test_task_mismatch(folder: Path) -> None:
    with pytest.raises(ModelTaskMismatchError, match="fill_gaps"):
        registry.resolve_model("dehaze", "fill")


def test_nothing_installed_says_where_to_put_a_model(isolated_models: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "shipped_models_dir", lambda: tmp_path)  # every task ships a model now
    with pytest.raises(ModelNotFoundError, match="no model is installed for task 'decloud'.*qgis-restore"):
        registry.resolve_model("decloud")


def test_unknown_task_and_unknown_name(folder: Path) -> None:
    with pytest.raises(UnknownTaskError):
        registry.resolve_model("sharpen")
    with pytest.raises(ModelNotFoundError, match="models for 'dehaze': id, conv"):
        registry.resolve_model("dehaze", "nope")


def test_add_search_path_and_shipped_dir(tmp_path: Path, models: dict[str, Path]) -> None:
    shutil.copy(models["fuse"], tmp_path / "fuse.onnx")
    write_index(tmp_path, [{"file": "fuse.onnx", "task": "derain_fuse", "name": "fuse"}])
    registry.add_search_path(tmp_path)
    try:
        assert registry.resolve_model("derain_fuse", "fuse").name == "fuse"  # derain_fuse ships defaults
    finally:
        registry._extra_paths.remove(tmp_path.resolve())
    assert registry.shipped_models_dir().parts[-2:] == ("resources", "models")


@pytest.fixture()
def three_and_four_bands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A 3-band default and a 4-band model for one task (the RGB and multispectral dehazers)."""
    from tests.support import tiny_models

    tiny_models.identity_model(tmp_path / "rgb.onnx", bands=3, name="rgb")
    tiny_models.identity_model(tmp_path / "four.onnx", bands=4, name="four")
    write_index(tmp_path, [
        {"file": "rgb.onnx", "task": "dehaze", "name": "rgb", "default": True},
        {"file": "four.onnx", "task": "dehaze", "name": "four", "default": False},
    ])
    monkeypatch.setenv(registry.ENV_VAR, str(tmp_path))
    monkeypatch.setattr(registry, "shipped_models_dir", lambda: tmp_path / "no-shipped-models")
    return tmp_path


def test_default_model_fits_the_band_count(three_and_four_bands: Path) -> None:
    assert registry.resolve_model("dehaze").name == "rgb"
    assert registry.resolve_model("dehaze", band_count=3).name == "rgb"
    assert registry.resolve_model("dehaze", band_count=4).name == "four"
    # no model takes 5 bands: the default, whose band check then names the mismatch
    assert registry.resolve_model("dehaze", band_count=5).name == "rgb"
    # a named model is taken as named, whatever the band count
    assert registry.resolve_model("dehaze", "rgb", band_count=4).name == "rgb"


def test_band_count_choice_verifies_the_model_it_picks(three_and_four_bands: Path) -> None:
    with open(three_and_four_bands / "four.onnx", "ab") as handle:
        handle.write(b"tampered")
    assert registry.resolve_model("dehaze", band_count=3).name == "rgb"  # the other file is not read
    with pytest.raises(ModelIntegrityError, match="'four'"):
        registry.resolve_model("dehaze", band_count=4)
