"""ONNX Runtime sessions and device selection: ``auto | cpu | cuda[:N] | tensorrt``.

``auto`` tries TensorRT, then CUDA, then CPU and keeps the first provider whose session *really*
reports it (ONNX Runtime silently drops a provider it cannot load, so listing it is not enough).
An explicit device that cannot run is a ``DeviceError`` saying what to install, never a silent
fallback to the CPU.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from .errors import DeviceError, ModelIntegrityError

PROVIDERS = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
_AUTO_ORDER = ("tensorrt", "cuda", "cpu")
_DEVICE_RE = re.compile(r"^(auto|cpu|tensorrt|cuda)(?::(\d+))?$")

_INSTALL_HINT = {
    "cuda": "install onnxruntime-gpu (instead of onnxruntime) with a matching CUDA 12 and cuDNN 9, "
    "and check that `nvidia-smi` sees the GPU",
    "tensorrt": "install onnxruntime-gpu together with TensorRT 10 libraries on the library path "
    "(plus CUDA 12 and cuDNN 9)",
}


@dataclass(frozen=True)
class Device:
    """A parsed device string: kind (``auto``, ``cpu``, ``cuda``, ``tensorrt``) and GPU index."""

    kind: str
    index: int = 0

    @property
    def is_gpu(self) -> bool:
        return self.kind in ("cuda", "tensorrt")

    @property
    def text(self) -> str:
        """The device as a string ``parse_device`` reads back (``cpu``, ``cuda:0``, ``tensorrt:1``)."""
        return f"{self.kind}:{self.index}" if self.is_gpu else self.kind


def parse_device(device: str) -> Device:
    """Parse ``auto``, ``cpu``, ``cuda``, ``cuda:1``, ``tensorrt`` (case-insensitive)."""
    match = _DEVICE_RE.match(device.strip().lower())
    if not match:
        raise DeviceError(f"unknown device {device!r}; use auto, cpu, cuda, cuda:N or tensorrt",
                          options=("device",))
    kind, index = match.group(1), int(match.group(2) or 0)
    if match.group(2) is not None and kind not in ("cuda", "tensorrt"):
        raise DeviceError(f"device {device!r}: only cuda and tensorrt take a GPU index", options=("device",))
    return Device(kind, index)


def available_providers() -> list[str]:
    import onnxruntime as ort

    return list(ort.get_available_providers())


def _session_options(threads: int | None) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
    # The engine's reader and writer threads share the cores with ONNX Runtime: its worker threads
    # must sleep, not spin, between operators.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def _provider_entry(kind: str, index: int) -> Any:
    name = PROVIDERS[kind]
    if kind == "cpu":
        return name
    return (name, {"device_id": str(index)})


def _try_session(model: str | bytes, kind: str, index: int, threads: int | None) -> tuple[Any, str]:
    """A session whose first provider is ``kind``; raise ``DeviceError`` if that provider did not load."""
    import onnxruntime as ort

    name = PROVIDERS[kind]
    providers = [_provider_entry(kind, index)]
    if kind != "cpu":
        providers.append("CPUExecutionProvider")  # ORT needs it for nodes the GPU provider lacks
    try:
        session = ort.InferenceSession(model, sess_options=_session_options(threads), providers=providers)
    except Exception as exc:
        if kind == "cpu":
            where = "the model" if isinstance(model, bytes) else str(model)
            raise ModelIntegrityError(f"ONNX Runtime cannot load {where}: {exc}") from None
        raise DeviceError(f"{name} failed to start: {exc}; {_INSTALL_HINT[kind]}",
                          options=("device",)) from None
    if session.get_providers()[0] != name:
        raise DeviceError(
            f"{name} is not usable here (ONNX Runtime fell back to {session.get_providers()[0]}); "
            f"{_INSTALL_HINT.get(kind, '')}", options=("device",)
        )
    return session, name


def create_session(
    model: str | os.PathLike[str] | bytes, device: str | Device = "auto", threads: int | None = None
) -> tuple[Any, str]:
    """Build an ``InferenceSession`` for ``device``; return it with the provider that really runs.

    ``device`` is a device string or a ``Device`` already parsed by the caller (the pipeline parses
    it once and also needs its GPU index). A path is read once through
    ``backend.model_file.load_model`` (external data only from beside the model, inlined), so ONNX
    Runtime itself never opens a file.
    """
    parsed = device if isinstance(device, Device) else parse_device(device)
    if isinstance(model, bytes):
        source = model
    else:
        from .model_file import load_model

        source = load_model(model).data
    available = available_providers()
    if parsed.kind == "auto":
        for kind in _AUTO_ORDER:
            if PROVIDERS[kind] not in available:
                continue
            try:
                return _try_session(source, kind, parsed.index, threads)
            except DeviceError:
                continue
        raise DeviceError("no ONNX Runtime execution provider works here, not even the CPU")
    name = PROVIDERS[parsed.kind]
    if name not in available:
        raise DeviceError(
            f"device {parsed.text!r} needs {name}, but this ONNX Runtime only offers {', '.join(available)}; "
            f"{_INSTALL_HINT.get(parsed.kind, '')}", options=("device",)
        )
    return _try_session(source, parsed.kind, parsed.index, threads)


def is_out_of_memory(exc: BaseException) -> bool:
    """True for the errors ONNX Runtime raises when the GPU arena cannot allocate."""
    text = str(exc).lower()
    keys = ("out of memory", "failed to allocate", "cudaerrormemoryallocation", "bfc")
    return any(key in text for key in keys)


def gpu_free_bytes(index: int = 0) -> int | None:
    """Free memory of GPU ``index`` from ``nvidia-smi``; ``None`` when it cannot be asked."""
    import shutil
    import subprocess

    exe = shutil.which("nvidia-smi")
    if not exe:
        return None
    try:
        out = subprocess.run(
            [exe, "--query-gpu=memory.free", "--format=csv,noheader,nounits", f"--id={index}"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout
        return int(out.strip().splitlines()[0]) * 1024 * 1024
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None
