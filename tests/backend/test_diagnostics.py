from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from backend import registry
from backend.diagnostics import diagnose
from tests.backend.conftest import write_index


def test_diagnose_reports_versions_providers_and_checksums(tmp_path: Path, models: dict[str, Path],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(models["identity"], tmp_path / "a.onnx")
    shutil.copy(models["conv"], tmp_path / "b.onnx")
    write_index(tmp_path, [{"file": "a.onnx", "task": "dehaze", "name": "a"},
                           {"file": "b.onnx", "task": "dehaze", "name": "b", "sha256": "f" * 64}])
    monkeypatch.setenv(registry.ENV_VAR, str(tmp_path))
    monkeypatch.setattr(registry, "shipped_models_dir", lambda: tmp_path / "no-shipped-models")
    report = diagnose()
    json.dumps(report)
    assert report["providers"]["CPUExecutionProvider"] == "ok"
    assert {"python", "gdal", "numpy", "onnxruntime"} <= set(report)
    status = {m["name"]: m["checksum"] for m in report["models"]}
    assert status == {"a": "ok", "b": "MISMATCH"}
