from __future__ import annotations

import dataclasses
from pathlib import Path

import onnx
import pytest

from backend.errors import ModelCardError, ModelIntegrityError
from backend.model_card import METADATA_KEY
from backend.package import embed_card, read_card, sha256_file, validate_package
from tests.support import tiny_models


def test_card_roundtrips_through_the_onnx_metadata(models: dict[str, Path]) -> None:
    card = read_card(models["fill"])
    assert card.task == "fill_gaps" and card.input("mask") is not None
    proto = onnx.load(str(models["fill"]))
    assert any(p.key == METADATA_KEY for p in proto.metadata_props)


@pytest.mark.parametrize("name", ["identity", "conv", "fill", "fuse", "sar"])
def test_tiny_models_are_valid_packages(models: dict[str, Path], name: str) -> None:
    assert validate_package(models[name]).name.startswith("test-")


def test_embed_card_replaces_an_old_card(models: dict[str, Path], tmp_path: Path) -> None:
    card = dataclasses.replace(read_card(models["identity"]), version="9.9")
    out = embed_card(models["identity"], card, tmp_path / "v9.onnx")
    assert read_card(out).version == "9.9"
    assert sum(p.key == METADATA_KEY for p in onnx.load(str(out)).metadata_props) == 1


def test_corrupt_file_is_an_integrity_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage that is not protobuf" * 10)
    with pytest.raises(ModelIntegrityError, match="bad.onnx"):
        read_card(bad)


def test_onnx_without_card_is_refused(models: dict[str, Path], tmp_path: Path) -> None:
    proto = onnx.load(str(models["identity"]))
    del proto.metadata_props[:]
    plain = tmp_path / "plain.onnx"
    onnx.save(proto, str(plain))
    with pytest.raises(ModelCardError, match="restore_model_card"):
        read_card(plain)


def test_validate_catches_band_count_mismatch(tmp_path: Path) -> None:
    path = tiny_models.identity_model(tmp_path / "m.onnx", bands=3)
    card = read_card(path)
    four = dataclasses.replace(card, inputs=(dataclasses.replace(card.inputs[0], bands=("red",) * 4),),
                               outputs=(dataclasses.replace(card.outputs[0], bands=("red",) * 4),))
    embed_card(path, four, path)
    with pytest.raises(ModelCardError, match="3 channels"):
        validate_package(path)


def test_sha256_matches_hashlib(tmp_path: Path) -> None:
    import hashlib

    blob = tmp_path / "blob"
    blob.write_bytes(b"x" * 3_000_000)
    assert sha256_file(blob) == hashlib.sha256(b"x" * 3_000_000).hexdigest()
