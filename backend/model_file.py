"""Read a model package once, verify those bytes and hand the same bytes to ONNX Runtime.

Opening a model by path lets ONNX Runtime read the file again after its checksum was checked (a
window in which it can be swapped) and follow each tensor's external-data ``location`` wherever it
points (``../../secret.txt`` would be read into the weights, and from there into the output). Here
the ``.onnx`` file is read once; its digest is taken over exactly the bytes that were read; tensors
stored as external data are read from files that must sit inside the model's folder, are covered by
the same digest and are copied into the model, so ONNX Runtime gets one self-contained buffer and
never opens a file itself.

The package digest (``package_sha256``) is the SHA-256 of the ``.onnx`` file followed by each
external data file in the order the tensors first name them. A model without external data (every
shipped one) has the plain SHA-256 of its file, as before.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, NoReturn

from .errors import ModelIntegrityError

#: A protobuf message cannot exceed 2 GiB; ONNX Runtime cannot take a larger buffer either.
MAX_MODEL_BYTES = (2 << 30) - (64 << 20)
#: Subgraphs (If/Loop bodies) nested deeper than this are refused rather than walked.
MAX_GRAPH_DEPTH = 64


@dataclass(frozen=True)
class VerifiedModel:
    """A model package as it was read: the bytes ONNX Runtime gets and their digest."""

    path: Path
    data: bytes
    sha256: str
    external_files: tuple[Path, ...] = ()


def load_model(path: str | os.PathLike[str], expected_sha256: str | None = None) -> VerifiedModel:
    """Read ``path`` once, inline its external data, check the digest; raise ``ModelIntegrityError``.

    ``expected_sha256`` (from an ``index.json``) must equal the package digest of what was read;
    ``None`` skips that comparison (a model given by path) but not the external-data checks.
    """
    path = Path(path)
    raw = _read_regular(path, "model file", path)
    digest = hashlib.sha256(raw)
    try:
        proto = _parse(raw, path)
    except ModelIntegrityError:
        if expected_sha256 is not None and digest.hexdigest() != expected_sha256:
            _mismatch(path, digest.hexdigest(), expected_sha256)  # a swapped file, not a broken export
        raise
    externals = list(_external_tensors(proto, path))
    files: list[Path] = []
    if externals:
        contents: dict[Path, bytes] = {}
        total = len(raw)
        for tensor, entries in externals:
            target = _external_path(path, entries.get("location", ""))
            if target not in contents:
                contents[target] = _read_regular(target, "external data file", path)
                digest.update(contents[target])
                files.append(target)
                total += len(contents[target])
                if total > MAX_MODEL_BYTES:
                    raise ModelIntegrityError(
                        f"model {path} with its external data is over {MAX_MODEL_BYTES >> 20} MiB, more "
                        "than one ONNX buffer can hold; export it with its weights inside the .onnx file")
            _inline(tensor, entries, contents[target], target, path)
    actual = digest.hexdigest()
    if expected_sha256 is not None and actual != expected_sha256:
        _mismatch(path, actual, expected_sha256)
    data = raw if not externals else proto.SerializeToString()
    return VerifiedModel(path=path, data=data, sha256=actual, external_files=tuple(files))


def _mismatch(path: Path, actual: str, expected: str) -> NoReturn:
    raise ModelIntegrityError(
        f"model {path} has sha256 {actual[:12]}..., but its index says {str(expected)[:12]}...: "
        "the file is corrupt or was replaced; reinstall it or regenerate the index with "
        "python -m scripts.update_model_index")


def package_sha256(path: str | os.PathLike[str]) -> str:
    """The digest an ``index.json`` records for the package at ``path`` (see the module docstring)."""
    return load_model(path).sha256


def parse_model(data: bytes, where: str | os.PathLike[str]) -> Any:
    """An ``onnx.ModelProto`` parsed from ``data``; unreadable bytes are a ``ModelIntegrityError``."""
    return _parse(data, Path(where))


def _read_regular(target: Path, what: str, model: Path) -> bytes:
    """The bytes of a regular file, read once; devices, FIFOs and folders are refused."""
    try:
        with open(target, "rb") as handle:
            owner = "" if target == model else f" (of model {model})"
            if not _is_regular(handle.fileno()):
                raise ModelIntegrityError(f"{what} {target}{owner} is not a regular file")
            if os.fstat(handle.fileno()).st_size > MAX_MODEL_BYTES:  # checked before it is read
                raise ModelIntegrityError(
                    f"{what} {target}{owner} is over {MAX_MODEL_BYTES >> 20} MiB, more than one ONNX model "
                    "can hold: it is not a model package")
            return handle.read()
    except FileNotFoundError:
        raise ModelIntegrityError(f"{what} {target} does not exist") from None
    except IsADirectoryError:
        raise ModelIntegrityError(f"{what} {target} is a folder, not a file") from None
    except OSError as exc:
        raise ModelIntegrityError(f"{what} {target} cannot be read ({exc.strerror or exc})") from None


def _is_regular(fd: int) -> bool:
    import stat

    return stat.S_ISREG(os.fstat(fd).st_mode)


def _parse(data: bytes, path: Path) -> Any:
    import onnx

    proto = onnx.ModelProto()
    try:
        proto.ParseFromString(data)
    except Exception as exc:  # DecodeError, RecursionError, ...
        raise ModelIntegrityError(
            f"model file {path} is not a readable ONNX model ({type(exc).__name__}: {exc}); "
            "re-download or re-export it") from None
    return proto


def _graph_tensors(graph: Any, depth: int, path: Path):
    """Every TensorProto a graph holds: initializers, sparse initializers, node attributes, subgraphs."""
    if depth > MAX_GRAPH_DEPTH:
        raise ModelIntegrityError(f"model {path} nests subgraphs more than {MAX_GRAPH_DEPTH} deep")
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    for node in graph.node:
        yield from _node_tensors(node, depth, path)


def _node_tensors(node: Any, depth: int, path: Path):
    for attr in node.attribute:
        if attr.HasField("t"):
            yield attr.t
        yield from attr.tensors
        if attr.HasField("sparse_tensor"):
            yield attr.sparse_tensor.values
            yield attr.sparse_tensor.indices
        for sparse in attr.sparse_tensors:
            yield sparse.values
            yield sparse.indices
        if attr.HasField("g"):
            yield from _graph_tensors(attr.g, depth + 1, path)
        for graph in attr.graphs:
            yield from _graph_tensors(graph, depth + 1, path)


def _external_tensors(proto: Any, path: Path):
    """(tensor, {key: value}) for each tensor whose data lives in an external file."""
    import onnx

    def tensors():
        yield from _graph_tensors(proto.graph, 0, path)
        for function in proto.functions:
            for node in function.node:
                yield from _node_tensors(node, 1, path)

    for tensor in tensors():
        if tensor.data_location == onnx.TensorProto.EXTERNAL or len(tensor.external_data):
            yield tensor, {entry.key: entry.value for entry in tensor.external_data}


def _external_path(model: Path, location: str) -> Path:
    """The file an external-data ``location`` names, which must lie inside the model's folder."""
    folder = model.parent.resolve()
    plain = (location and not PurePosixPath(location).is_absolute() and not PureWindowsPath(location).anchor
             and ".." not in PurePosixPath(location.replace("\\", "/")).parts)
    if plain:
        target = (folder / location).resolve()
        if target != folder and folder in target.parents:
            return target
    raise ModelIntegrityError(
        f"model {model} reads external data from {location!r}, outside its folder {folder}: refused "
        "(a model may only keep external data in files beside it)")


def _inline(tensor: Any, entries: dict[str, str], content: bytes, target: Path, model: Path) -> None:
    """Copy a tensor's external bytes into the tensor itself, so ONNX Runtime reads no file."""
    import onnx

    try:
        offset = int(entries.get("offset", 0) or 0)
        length = int(entries["length"]) if entries.get("length") not in (None, "") else len(content) - offset
    except ValueError:
        raise ModelIntegrityError(f"model {model}: tensor {tensor.name!r} has a malformed external data "
                                  "offset or length") from None
    if offset < 0 or length < 0 or offset + length > len(content):
        raise ModelIntegrityError(
            f"model {model}: tensor {tensor.name!r} points at bytes {offset}..{offset + length} of {target}, "
            f"which has {len(content)} bytes")
    tensor.raw_data = content[offset : offset + length]
    del tensor.external_data[:]
    tensor.data_location = onnx.TensorProto.DEFAULT
