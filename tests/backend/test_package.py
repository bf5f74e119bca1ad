from __future__ import annotations

import dataclasses
from pathlib import Path

import onnx
import pytest

from backend.errors import ModelCardError, ModelIntegrityError
from backend.model_card import METADATA_KEY, ModelCard, SceneContext
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


def test_a_scene_context_roundtrips_and_must_match_the_graph(tmp_path: Path) -> None:
    path = tiny_models.scene_context_model(tmp_path / "context.onnx", percentiles=(1.0, 50.0))
    card = validate_package(path)
    assert card.inputs[0].context == SceneContext("context", (1.0, 50.0))
    # The graph's context width must be percentiles x bands.
    with pytest.raises(ModelCardError, match=r"must be an \(N, 6\) tensor"):
        validate_package(tiny_models.scene_context_model(tmp_path / "wide.onnx", context_width=9))
    # A card that forgets the context leaves a graph input nobody feeds.
    plain = dataclasses.replace(card, inputs=(dataclasses.replace(card.inputs[0], context=None),))
    embed_card(path, plain, tmp_path / "plain.onnx")
    with pytest.raises(ModelCardError, match="do not match the ONNX graph"):
        validate_package(tmp_path / "plain.onnx")


@pytest.mark.parametrize(("context", "message"), [
    (SceneContext("context", ()), "percentiles must be numbers between 0 and 100"),
    (SceneContext("context", (1.0, 101.0)), "percentiles must be numbers between 0 and 100"),
    (SceneContext("", (1.0,)), "needs a tensor name"),
    (SceneContext("restored", (1.0,)), "names are not unique"),
])
def test_a_bad_scene_context_is_refused_by_name(tmp_path: Path, context: SceneContext, message: str) -> None:
    card = read_card(tiny_models.scene_context_model(tmp_path / "context.onnx"))
    bad = dataclasses.replace(card, inputs=(dataclasses.replace(card.inputs[0], context=context),))
    with pytest.raises(ModelCardError, match=message):
        ModelCard.from_json(bad.to_json())


def test_schema_versions_one_and_two_are_read_and_a_context_needs_two(tmp_path: Path) -> None:
    context_card = read_card(tiny_models.scene_context_model(tmp_path / "context.onnx"))
    assert context_card.schema_version == 2
    old = dataclasses.replace(read_card(tiny_models.identity_model(tmp_path / "id.onnx")), schema_version=1)
    assert ModelCard.from_json(old.to_json()).schema_version == 1  # cards shipped before the context
    with pytest.raises(ModelCardError, match="a scene context needs schema_version 2"):
        ModelCard.from_json(dataclasses.replace(context_card, schema_version=1).to_json())
    with pytest.raises(ModelCardError, match="schema_version 4 is not supported"):
        ModelCard.from_json(dataclasses.replace(context_card, schema_version=4).to_json())
