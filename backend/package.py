"""Model package I/O: an ONNX file whose metadata entry ``restore_model_card`` holds the model card.

``read_card`` walks the protobuf wire format of the file to its metadata entries and skips the graph
and weights unread (no ``import onnx``, which alone costs ~0.1 s, and no parse of the weights);
anything it cannot walk goes through ``onnx.load``, which reports the problem. ``validate_package``
is the full check a user runs before trusting a model: card valid, tensor names and channel counts
match, and ONNX Runtime can build a session.
"""

from __future__ import annotations

import hashlib
import mmap
import os
from pathlib import Path
from typing import Any

from .errors import ModelCardError, ModelIntegrityError
from .model_card import METADATA_KEY, ModelCard, validate

_CHUNK = 1 << 20
#: ``ModelProto.metadata_props`` and, inside each entry, ``key``/``value`` (onnx.proto field numbers).
_METADATA_FIELD, _KEY_FIELD, _VALUE_FIELD = 14, 1, 2


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _load_proto(path: Path, load_weights: bool = False) -> Any:
    import onnx

    if not path.is_file():
        raise ModelIntegrityError(f"model file {path} does not exist")
    try:
        return onnx.load(str(path), load_external_data=load_weights)
    except Exception as exc:  # protobuf raises DecodeError, onnx raises others
        raise ModelIntegrityError(
            f"model file {path} is not a readable ONNX model ({type(exc).__name__}: {exc}); "
            "re-download or re-export it"
        ) from None


def card_from_proto(proto: Any, where: str) -> ModelCard:
    """The validated card stored in an ``onnx.ModelProto``'s metadata."""
    entries = {p.key: p.value for p in proto.metadata_props}
    text = entries.get(METADATA_KEY)
    if text is None:
        raise ModelCardError(
            f"{where} has no '{METADATA_KEY}' metadata entry: it is not a restore model package "
            "(embed a card with backend.package.embed_card)"
        )
    return _card_from_text(text, where)


def _card_from_text(text: str, where: str) -> ModelCard:
    try:
        return ModelCard.from_json(text)
    except ModelCardError as exc:
        raise ModelCardError(f"{where}: {exc}") from None


def read_card(path: str | os.PathLike[str]) -> ModelCard:
    """Read and validate the model card of the package at ``path``."""
    path = Path(path)
    text = _card_text_from_wire(path)
    if text is not None:
        return _card_from_text(text, str(path))
    # Not walkable, or no card: onnx.load gives the precise error (or finds what the walk missed).
    return card_from_proto(_load_proto(path), str(path))


def card_from_bytes(data: bytes, where: str | os.PathLike[str]) -> ModelCard:
    """The validated card of a package already read into memory (the bytes a session will run)."""
    try:
        text = _card_text_from_buffer(data)
    except (ValueError, IndexError):
        text = None
    if text is not None:
        return _card_from_text(text, str(where))
    from .model_file import parse_model

    return card_from_proto(parse_model(data, where), str(where))


def _varint(data: Any, pos: int) -> tuple[int, int]:
    """Decode the protobuf varint at ``pos``; return it and the position after it."""
    value = shift = 0
    while True:
        byte = data[pos]  # IndexError past the end: a truncated file
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _fields(data: Any, start: int, end: int):
    """Yield (field number, start, end) of each length-delimited field of the message in [start, end).

    Other wire types are skipped; groups (deprecated, unused by ONNX) or a field running past
    ``end`` raise ``ValueError``.
    """
    pos = start
    while pos < end:
        tag, pos = _varint(data, pos)
        wire = tag & 7
        if wire == 0:
            _, pos = _varint(data, pos)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > end:
                raise ValueError("field runs past the end of its message")
            yield tag >> 3, pos, pos + length
            pos += length
        else:
            raise ValueError(f"unsupported wire type {wire}")
    if pos != end:
        raise ValueError("message runs past its end")


def _card_text_from_wire(path: Path) -> str | None:
    """The card JSON from ``ModelProto.metadata_props`` by walking the wire format, or ``None``.

    The file is memory-mapped, so the graph and weights it skips are never read from disk. ``None``
    when the file is not a well-formed message to its last byte or holds no card entry (the last
    entry wins for a repeated key, as in ``card_from_proto``).
    """
    try:
        with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return _card_text_from_buffer(data)
    except (OSError, ValueError, IndexError):  # UnicodeDecodeError is a ValueError
        return None


def _card_text_from_buffer(data: Any) -> str | None:
    """The card JSON of a serialized ``ModelProto`` (bytes or mmap); ``ValueError`` if not walkable."""
    text = None
    for number, start, end in _fields(data, 0, len(data)):
        if number != _METADATA_FIELD:
            continue
        entry = {n: bytes(data[a:b]) for n, a, b in _fields(data, start, end)}
        if entry.get(_KEY_FIELD, b"").decode("utf-8") == METADATA_KEY:
            text = entry.get(_VALUE_FIELD, b"").decode("utf-8")
    return text


def embed_card(onnx_model_or_path: Any, card: ModelCard, out_path: str | os.PathLike[str]) -> Path:
    """Write ``card`` (validated) into the model's metadata and save the package to ``out_path``."""
    import onnx

    validate(card)
    if isinstance(onnx_model_or_path, (str, os.PathLike)):
        proto = onnx.load(str(onnx_model_or_path))
    else:
        proto = onnx_model_or_path
    kept = [p for p in proto.metadata_props if p.key != METADATA_KEY]
    del proto.metadata_props[:]
    for entry in kept:
        proto.metadata_props.append(entry)
    prop = proto.metadata_props.add()
    prop.key = METADATA_KEY
    prop.value = card.to_json()
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(out_path))
    return out_path


def _tensor_channels(value_info: Any) -> int | str | None:
    dims = value_info.type.tensor_type.shape.dim
    if len(dims) != 4:
        return None
    dim = dims[1]
    return dim.dim_value if dim.HasField("dim_value") else (dim.dim_param or None)


def validate_package(path: str | os.PathLike[str]) -> ModelCard:
    """Check a package end to end and return its card; raise a ``RestoreError`` naming the problem."""
    import onnx

    from .model_file import load_model, parse_model

    path = Path(path)
    verified = load_model(path)  # external data only from beside the model, inlined
    proto = parse_model(verified.data, path)
    card = card_from_proto(proto, str(path))
    try:
        onnx.checker.check_model(proto)
    except Exception as exc:
        raise ModelIntegrityError(f"{path} fails the ONNX checker: {exc}") from None
    graph_inputs = {vi.name: vi for vi in proto.graph.input}
    initializers = {init.name for init in proto.graph.initializer}
    graph_inputs = {k: v for k, v in graph_inputs.items() if k not in initializers}
    graph_outputs = {vi.name: vi for vi in proto.graph.output}
    contexts = {spec.context.name: spec for spec in card.inputs if spec.context is not None}
    checks = (("input", card.inputs, graph_inputs), ("output", card.outputs, graph_outputs))
    for kind, specs, tensors in checks:
        declared = {spec.name for spec in specs} | (set(contexts) if kind == "input" else set())
        if set(tensors) != declared:
            raise ModelCardError(
                f"{path}: card {kind}s {sorted(declared)} do not match the ONNX graph "
                f"{kind}s {sorted(tensors)}"
            )
        for spec in specs:
            channels = _tensor_channels(tensors[spec.name])
            if channels is None:
                raise ModelCardError(f"{path}: {kind} {spec.name!r} is not a 4-D (N, C, H, W) tensor")
            if isinstance(channels, int) and channels != len(spec.bands):
                raise ModelCardError(
                    f"{path}: {kind} {spec.name!r} has {channels} channels but the card lists "
                    f"{len(spec.bands)} bands {list(spec.bands)}"
                )
    for name, spec in contexts.items():
        dims = graph_inputs[name].type.tensor_type.shape.dim
        width = spec.context.width(len(spec.bands))
        if len(dims) != 2 or (dims[1].HasField("dim_value") and dims[1].dim_value != width):
            raise ModelCardError(
                f"{path}: scene context {name!r} must be an (N, {width}) tensor: "
                f"{len(spec.context.percentiles)} percentiles x {len(spec.bands)} bands of input "
                f"{spec.name!r}"
            )
    from .runtime import create_session

    create_session(verified.data, "cpu")
    return card
