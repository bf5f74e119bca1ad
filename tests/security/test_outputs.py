"""Issue 24, items 4 and 8: what an output path may be; temporary names; stale temporary files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from backend.cli import main
from backend.errors import OutputRasterError
from backend.pipeline import RestoreJob, restore
from backend.raster_io import PART_PREFIX, PART_SUFFIX, _host_tag
from tests.support.rasters import make_raster, read_raster


@pytest.fixture()
def raster(tmp_path: Path) -> Path:
    return make_raster(tmp_path / "in.tif", np.random.default_rng(0).integers(0, 255, (3, 24, 24), np.uint8))


def _refused(raster: Path, output: Path, model: Path, match: str) -> None:
    with pytest.raises(OutputRasterError, match=match):
        restore(RestoreJob("dehaze", {"optical": raster}, output, model=model))


def test_a_device_a_fifo_or_a_link_to_one_is_never_replaced(tmp_path: Path, raster: Path, models) -> None:
    _refused(raster, Path("/dev/null"), models["identity"], "not a regular file")
    assert Path("/dev/null").is_char_device()
    fifo = tmp_path / "pipe.tif"
    os.mkfifo(fifo)
    _refused(raster, fifo, models["identity"], "not a regular file")
    link = tmp_path / "link.tif"
    link.symlink_to("/dev/null")
    _refused(raster, link, models["identity"], "not a regular file")
    assert link.is_symlink() and Path("/dev/null").is_char_device()


def test_the_model_in_use_is_never_the_output(tmp_path: Path, raster: Path, models) -> None:
    model = tmp_path / "model.tif"  # a model may have any name
    model.write_bytes(models["identity"].read_bytes())
    before = model.read_bytes()
    _refused(raster, model, model, "model file in use")
    assert model.read_bytes() == before


def test_a_hard_link_to_the_input_is_the_input(tmp_path: Path, raster: Path, models) -> None:
    os.link(raster, tmp_path / "same.tif")
    _refused(raster, tmp_path / "same.tif", models["identity"], "is the optical input")


@pytest.mark.parametrize("name", ["out.png", "out.jpg", "out.nc", "out.vrt", "out"])
def test_an_output_named_for_another_format_is_refused(tmp_path: Path, raster: Path, models, name: str,
                                                       capsys: pytest.CaptureFixture) -> None:
    assert main(["restore", "--task", "dehaze", "--model", str(models["identity"]), str(raster),
                 str(tmp_path / name)]) == 1
    assert ".tif" in capsys.readouterr().err
    assert not (tmp_path / name).exists()


def test_a_long_legal_output_name_works(tmp_path: Path, raster: Path, models) -> None:
    output = tmp_path / ("x" * 246 + ".tif")  # 250 characters: the temporary name must not be longer
    restore(RestoreJob("dehaze", {"optical": raster}, output, model=models["identity"]))
    assert np.array_equal(read_raster(output), read_raster(raster))


def test_a_killed_runs_temporary_file_is_removed_by_the_next_run(tmp_path: Path, raster: Path,
                                                                 models) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    stale = tmp_path / f"{PART_PREFIX}{_host_tag()}-{dead}-deadbeef{PART_SUFFIX}"
    live = tmp_path / f"{PART_PREFIX}{_host_tag()}-{os.getppid()}-0badcafe{PART_SUFFIX}"
    other_host = tmp_path / f"{PART_PREFIX}ffffff-{dead}-12345678{PART_SUFFIX}"
    for path in (stale, live, other_host):
        path.write_bytes(b"partial")
    restore(RestoreJob("dehaze", {"optical": raster}, tmp_path / "out.tif", model=models["identity"]))
    assert not stale.exists() and live.exists() and other_host.exists()


def test_a_full_disk_is_called_a_full_disk(tmp_path: Path, raster: Path, models,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from backend import raster_io

    def no_space(self, *args) -> None:  # what GDAL's GeoTIFF driver raises on ENOSPC
        raise RuntimeError(f"{self.temp}: TIFFAppendToStrip:Write error (No space left on device)")

    monkeypatch.setattr(raster_io.RasterWriter, "_write_array", no_space)
    with pytest.raises(OutputRasterError, match=r"the disk is full \(.*MiB free\)"):
        restore(RestoreJob("dehaze", {"optical": raster}, tmp_path / "out.tif", model=models["identity"]))
    assert not (tmp_path / "out.tif").exists() and not list(tmp_path.glob(".*part*"))
    # Another write error stays what it is.
    error = raster_io.output_failure("writing", tmp_path / "x.tif", RuntimeError("Permission denied"))
    assert "Permission denied" in str(error) and "disk is full" not in str(error)


@pytest.mark.parametrize("which", ["output", "input", "output folder"])
def test_names_longer_than_a_file_system_takes_are_a_clear_error(tmp_path: Path, raster: Path, models,
                                                                 which: str,
                                                                 capsys: pytest.CaptureFixture) -> None:
    long = "y" * 300
    paths = {"output": (raster, tmp_path / f"{long}.tif"),
             "input": (tmp_path / f"{long}.tif", tmp_path / "o.tif"),
             "output folder": (raster, tmp_path / long / "o.tif")}[which]
    assert main(["restore", "--task", "dehaze", "--model", str(models["identity"]), *map(str, paths)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "internal error" not in err and len(err.strip().splitlines()) == 1


def test_a_model_path_that_is_a_device_says_so(tmp_path: Path, raster: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    code = main(["restore", "--task", "dehaze", "--model", "/dev/zero", str(raster), str(tmp_path / "o.tif")])
    assert code == 1
    assert "/dev/zero is not a regular file" in capsys.readouterr().err
