"""Fixtures for backend tests: tiny model packages and an isolated model search path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.package import sha256_file
from tests.support import tiny_models


@pytest.fixture(autouse=True)
def isolated_models(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty per-user model folder and no RESTORE_MODELS_PATH, so the host's models never leak in."""
    home = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    monkeypatch.delenv("RESTORE_MODELS_PATH", raising=False)
    return home / "qgis-restore" / "models"


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One package of each tiny model (3 bands, unit normalisation, 64 px tiles, 8 px overlap)."""
    folder = tmp_path_factory.mktemp("models")
    return {
        "identity": tiny_models.identity_model(folder / "identity.onnx"),
        "conv": tiny_models.conv3x3_model(folder / "conv.onnx"),
        "fill": tiny_models.mask_fill_model(folder / "fill.onnx"),
        "fuse": tiny_models.fuse_model(folder / "fuse.onnx"),
        "sar": tiny_models.sar_model(folder / "sar.onnx"),
    }


def write_index(folder: Path, entries: list[dict]) -> Path:
    """Write an index.json whose sha256 fields default to the files' real checksums."""
    for entry in entries:
        entry.setdefault("sha256", sha256_file(folder / entry["file"]))
    path = folder / "index.json"
    path.write_text(json.dumps({"models": entries}), encoding="utf-8")
    return path
