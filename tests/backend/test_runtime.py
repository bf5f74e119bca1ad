from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from backend.errors import DeviceError, ModelIntegrityError
from backend.runtime import Device, create_session, is_out_of_memory, parse_device


@pytest.mark.parametrize("text, expected", [("auto", Device("auto")), ("CPU", Device("cpu")),
                                            ("cuda", Device("cuda", 0)), ("cuda:1", Device("cuda", 1)),
                                            ("tensorrt", Device("tensorrt"))])
def test_parse_device(text: str, expected: Device) -> None:
    assert parse_device(text) == expected


@pytest.mark.parametrize("text", ["gpu", "cpu:1", "cuda:x", ""])
def test_bad_device_strings(text: str) -> None:
    with pytest.raises(DeviceError):
        parse_device(text)


@pytest.mark.parametrize("text", ["auto", "cpu", "cuda", "cuda:1", "tensorrt:2"])
def test_a_device_reads_back_from_its_text(text: str) -> None:
    assert parse_device(parse_device(text).text) == parse_device(text)


def test_a_parsed_device_is_taken_as_is(models: dict[str, Path]) -> None:
    session, provider = create_session(models["identity"], Device("cpu"))
    assert provider == "CPUExecutionProvider" == session.get_providers()[0]


def test_auto_reports_the_provider_that_really_runs(models: dict[str, Path]) -> None:
    session, provider = create_session(models["identity"], "auto")
    assert provider == session.get_providers()[0]
    x = np.ones((1, 3, 8, 8), np.float32)
    assert np.array_equal(session.run(None, {"optical": x})[0], x)


GPU_BUILD = "CUDAExecutionProvider" in ort.get_available_providers()


@pytest.mark.skipif(GPU_BUILD, reason="a GPU build is installed")
@pytest.mark.parametrize("device", ["cuda", "cuda:0", "tensorrt"])
def test_explicit_gpu_without_gpu_build_is_an_error(models: dict[str, Path], device: str) -> None:
    with pytest.raises(DeviceError, match="install onnxruntime-gpu"):
        create_session(models["identity"], device)


def test_unloadable_model_is_an_integrity_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"junk")
    with pytest.raises(ModelIntegrityError, match="bad.onnx"):
        create_session(bad, "cpu")


def test_out_of_memory_detection() -> None:
    assert is_out_of_memory(RuntimeError("CUDA failure 2: out of memory"))
    assert is_out_of_memory(RuntimeError("Failed to allocate memory for requested buffer of size 123"))
    assert not is_out_of_memory(RuntimeError("Invalid input name"))
