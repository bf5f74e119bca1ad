"""What this installation can actually do: versions, working execution providers, installed models."""

from __future__ import annotations

import platform
from typing import Any

from .errors import RestoreError


def _tiny_model_bytes() -> bytes:
    """A one-node ONNX model (Identity) serialised in memory, to probe providers without a file."""
    from onnx import TensorProto, helper

    tensor = helper.make_tensor_value_info
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "probe",
                              [tensor("x", TensorProto.FLOAT, [1, 1, 2, 2])],
                              [tensor("y", TensorProto.FLOAT, [1, 1, 2, 2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def working_providers() -> dict[str, str]:
    """Each available provider mapped to ``"ok"`` or the reason its session did not run on it."""
    from .runtime import PROVIDERS, _try_session, available_providers

    probe = _tiny_model_bytes()
    report: dict[str, str] = {}
    available = available_providers()
    for kind, name in PROVIDERS.items():
        if name not in available:
            report[name] = "not in this onnxruntime build"
            continue
        try:
            _try_session(probe, kind, 0, 1)
            report[name] = "ok"
        except RestoreError as exc:
            report[name] = str(exc)
    return report


def diagnose() -> dict[str, Any]:
    """A JSON-ready report for bug reports and the plugin's diagnostics algorithm."""
    import numpy
    import onnxruntime
    from osgeo import gdal

    from . import __version__
    from .errors import RestoreError
    from .model_file import package_sha256
    from .registry import index_problems, list_models, search_paths

    models = []
    for info in list_models():
        try:
            actual = package_sha256(info.path)
            if not info.sha256:
                status = "no checksum in index"
            else:
                status = "ok" if actual == info.sha256 else "MISMATCH"

        except (OSError, RestoreError) as exc:
            actual, status = None, f"unreadable: {exc}"
        models.append({"name": info.name, "task": info.task, "path": str(info.path), "default": info.default,
                       "version": info.card.version, "sha256": actual, "checksum": status})
    return {
        "backend": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "gdal": gdal.__version__,
        "numpy": numpy.__version__,
        "onnxruntime": onnxruntime.__version__,
        "providers": working_providers(),
        "model_paths": [str(p) for p in search_paths()],
        "index_problems": index_problems(),
        "models": models,
    }
