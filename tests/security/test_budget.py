"""Issue 24, item 3: size, memory and disk are checked before the first tile; tiles are made lazily."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from backend import budget
from backend.cli import main
from backend.errors import InvalidOptionError, ModelCardError
from backend.model_card import TensorSpec, TileSpec, validate
from backend.pipeline import RestoreJob, restore
from backend.tiling import TileGrid
from tests.security.hostile import huge_vrt
from tests.support.rasters import make_raster, read_raster
from tests.support.tiny_models import UNIT, _card, band_names

REPO = Path(__file__).resolve().parents[2]
MEMORY_CAP = 3 << 30


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


@pytest.fixture()
def small(tmp_path: Path) -> Path:
    data = np.random.default_rng(0).integers(0, 255, (3, 40, 40), np.uint8)
    return make_raster(tmp_path / "small.tif", data)


@pytest.mark.parametrize("size", [3_000_000, 200_000])
def test_a_huge_vrt_is_refused_within_seconds_under_a_memory_cap(tmp_path: Path, small: Path, models,
                                                                 size: int) -> None:
    vrt = huge_vrt(tmp_path / "huge.vrt", small, size)
    out = tmp_path / "out.tif"
    cmd = [sys.executable, "-m", "backend", "restore", "--task", "dehaze", "--model", str(models["identity"]),
           str(vrt), str(out)]
    began = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120, preexec_fn=_cap_memory)
    assert time.monotonic() - began < 30
    assert proc.returncode == 1, proc.stderr
    assert f"{size} x {size}" in proc.stderr and "--allow-large" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not out.exists() and not list(tmp_path.glob(".*part*"))


@pytest.mark.parametrize("args", [["--tile-size", "100000"], ["--batch-size", "100000"]])
def test_huge_tiles_or_batches_are_refused_before_any_work(tmp_path: Path, small: Path, models, args,
                                                           capsys: pytest.CaptureFixture) -> None:
    code = main(["restore", "--task", "dehaze", "--model", str(models["identity"]), *args, "--tile-size",
                 args[1] if args[0] == "--tile-size" else "2048", str(small), str(tmp_path / "out.tif")])
    err = capsys.readouterr().err
    assert code == 1 and ("limit of 4096 px" in err or "of memory" in err), err
    assert not (tmp_path / "out.tif").exists()


def test_the_memory_check_gives_the_numbers_and_can_be_overridden(tmp_path: Path, small: Path, models,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "available_memory", lambda: 1 << 20)
    with pytest.raises(InvalidOptionError, match=r"needs about .* MiB of memory.*only 1\.0 MiB"):
        restore(RestoreJob("dehaze", {"optical": small}, tmp_path / "out.tif", model=models["identity"]))
    restore(RestoreJob("dehaze", {"optical": small}, tmp_path / "out.tif", model=models["identity"],
                       allow_large=True))
    monkeypatch.setenv(budget.ENV_ALLOW, "1")
    restore(RestoreJob("dehaze", {"optical": small}, tmp_path / "out2.tif", model=models["identity"]))


def test_the_disk_check_gives_the_numbers(tmp_path: Path, small: Path, models,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    class Usage:
        free = 1000

    monkeypatch.setattr(budget.shutil, "disk_usage", lambda path: Usage())
    with pytest.raises(InvalidOptionError, match=r"needs up to 4\.7 KiB .* has 1000 B free"):
        restore(RestoreJob("dehaze", {"optical": small}, tmp_path / "out.tif", model=models["identity"]))
    assert not (tmp_path / "out.tif").exists()


def test_tile_windows_are_made_lazily(tmp_path: Path, small: Path, models,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def no_list(*args, **kwargs):
        raise AssertionError("the engine built the list of every tile")

    monkeypatch.setattr(TileGrid, "tiles", no_list)
    restore(RestoreJob("dehaze", {"optical": small}, tmp_path / "out.tif", model=models["identity"],
                       tile_size=16, overlap=4))
    assert np.array_equal(read_raster(tmp_path / "out.tif"), read_raster(small))


def test_a_card_asking_for_huge_tiles_fails_validation() -> None:
    names = band_names(3)
    card = _card("dehaze", "x", (TensorSpec("optical", "optical", names, UNIT),),
                 (TensorSpec("restored", "optical", names, like="optical"),),
                 TileSpec(multiple=8, default_size=100_000, overlap=8), "x")
    with pytest.raises(ModelCardError, match="above the limit"):
        validate(card)


def test_a_sentinel2_scene_fits_a_small_machine_and_the_estimate_grows_with_the_batch() -> None:
    from backend.tiling import plan_grid

    grid = plan_grid(10980, 10980, 512, 32, 8)
    scene = budget.estimate(grid, 4, 4, 4, 4 * 2, 512 << 20)
    assert scene.memory < 2 << 30 and scene.disk == 10980 * 10980 * 8
    assert scene.memory < budget.MEMORY_SHARE * (4 << 30)  # a 4 GiB machine runs it
    bigger = budget.estimate(grid, 64, 4, 4, 4 * 2, 512 << 20)
    assert bigger.memory > 8 * scene.memory // 2
    on_gpu = budget.estimate(grid, 64, 4, 4, 4 * 2, 512 << 20, network_on_device=True)
    assert on_gpu.memory < bigger.memory
