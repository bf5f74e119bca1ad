"""Issue 24, item 1: model loading verifies the bytes it runs; external data stays in the model's folder."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from backend import pipeline, registry
from backend.cli import main
from backend.errors import ModelIntegrityError
from backend.model_file import load_model, package_sha256
from backend.package import validate_package
from backend.runtime import create_session
from tests.backend.conftest import write_index
from tests.security.hostile import external_data_model
from tests.support import tiny_models
from tests.support.rasters import make_raster, read_raster

SECRET = np.arange(2 * 3 * 3 * 3 + 3, dtype=np.float32).tobytes()  # as many bytes as the weights


@pytest.fixture()
def raster(tmp_path: Path) -> Path:
    data = np.random.default_rng(1).random((3, 40, 40), dtype=np.float32)
    return make_raster(tmp_path / "in.tif", data)


@pytest.fixture()
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty model folder that is the only one on the search path."""
    folder = tmp_path / "models"
    folder.mkdir()
    monkeypatch.setenv(registry.ENV_VAR, str(folder))
    monkeypatch.setattr(registry, "shipped_models_dir", lambda: tmp_path / "no-shipped-models")
    return folder


@pytest.mark.parametrize("location", ["../secret.bin", "/etc/hostname", "sub/../../secret.bin"])
def test_external_data_outside_the_model_folder_is_refused(tmp_path: Path, raster: Path,
                                                           location: str) -> None:
    (tmp_path / "secret.bin").write_bytes(SECRET)
    folder = tmp_path / "evil"
    folder.mkdir()
    model = external_data_model(folder, location)
    with pytest.raises(ModelIntegrityError, match="outside its folder"):
        load_model(model)
    with pytest.raises(ModelIntegrityError, match="outside its folder"):
        validate_package(model)
    with pytest.raises(ModelIntegrityError, match="outside its folder"):
        create_session(model, "cpu")  # by path too: ONNX Runtime never follows the location itself
    out = tmp_path / "out.tif"
    assert main(["restore", "--task", "dehaze", "--model", str(model), str(raster), str(out)]) == 1
    assert not out.exists() and not list(tmp_path.glob(".*part*"))


def test_a_symlink_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.bin").write_bytes(SECRET)
    folder = tmp_path / "evil"
    folder.mkdir()
    model = external_data_model(folder, "link.bin")
    (folder / "link.bin").symlink_to(tmp_path / "secret.bin")
    with pytest.raises(ModelIntegrityError, match="outside its folder"):
        load_model(model)


def test_external_data_beside_the_model_runs_and_is_covered_by_the_index_hash(
        installed: Path, raster: Path, tmp_path: Path) -> None:
    model = external_data_model(installed, "weights.bin")
    whole = model.read_bytes() + (installed / "weights.bin").read_bytes()
    assert package_sha256(model) == hashlib.sha256(whole).hexdigest()
    write_index(installed, [{"file": model.name, "task": "dehaze", "name": "ext",
                             "sha256": package_sha256(model), "default": True}])
    out = tmp_path / "out.tif"
    pipeline.restore(pipeline.RestoreJob("dehaze", {"optical": raster}, out, device="cpu"))
    reference = tmp_path / "ref.tif"
    plain = tiny_models.conv3x3_model(tmp_path / "plain.onnx")
    pipeline.restore(pipeline.RestoreJob("dehaze", {"optical": raster}, reference, model=plain, device="cpu"))
    assert np.array_equal(read_raster(out), read_raster(reference))
    # Swapping the external data (same size) is caught by the index hash.
    weights = installed / "weights.bin"
    weights.write_bytes(bytes(reversed(weights.read_bytes())))
    with pytest.raises(ModelIntegrityError, match="sha256"):
        pipeline.restore(pipeline.RestoreJob("dehaze", {"optical": raster}, tmp_path / "out2.tif",
                                             device="cpu"))
    assert not (tmp_path / "out2.tif").exists()


def test_the_session_runs_the_bytes_that_were_hashed(installed: Path, raster: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The file swapped between the checksum and the session (check-then-use) changes nothing."""
    model = tiny_models.identity_model(installed / "m.onnx")
    write_index(installed, [{"file": "m.onnx", "task": "dehaze", "name": "m", "default": True}])
    real_resolve = pipeline.resolve_model

    def resolve_then_swap(*args, **kwargs):
        info = real_resolve(*args, **kwargs)
        tiny_models.conv3x3_model(model)  # replaced after the check, before the session
        return info

    monkeypatch.setattr(pipeline, "resolve_model", resolve_then_swap)
    out = tmp_path / "out.tif"
    pipeline.restore(pipeline.RestoreJob("dehaze", {"optical": raster}, out, device="cpu"))
    assert np.array_equal(read_raster(out), read_raster(raster))  # the identity ran, not the swap


def test_a_model_that_is_a_device_or_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelIntegrityError, match="not a regular file"):
        load_model("/dev/zero")
    (tmp_path / "dir.onnx").mkdir()
    with pytest.raises(ModelIntegrityError):
        load_model(tmp_path / "dir.onnx")


def test_a_huge_model_file_is_refused_before_it_is_read(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from backend import model_file

    big = tmp_path / "big.onnx"
    with open(big, "wb") as handle:  # sparse: no disk used
        handle.truncate(1 << 30)
    monkeypatch.setattr(model_file, "MAX_MODEL_BYTES", 1 << 20)
    with pytest.raises(ModelIntegrityError, match="over 1 MiB"):
        load_model(big)
