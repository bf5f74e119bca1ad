"""Issue 24, item 6: SIGTERM and SIGHUP leave nothing behind; after SIGKILL the next run cleans up."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from backend.pipeline import RestoreJob, restore
from tests.support.rasters import make_raster

REPO = Path(__file__).resolve().parents[2]


def _start(tmp_path: Path, model: Path) -> tuple[subprocess.Popen, Path]:
    """A CLI run slow enough (one small tile per batch over 2,400^2 px) to be stopped half-way."""
    raster = tmp_path / "in.tif"
    if not raster.exists():
        make_raster(raster, np.random.default_rng(0).integers(0, 255, (3, 2400, 2400), np.uint8))
    out = tmp_path / "out" / "restored.tif"
    out.parent.mkdir(exist_ok=True)
    cmd = [sys.executable, "-m", "backend", "restore", "--task", "dehaze", "--model", str(model),
           "--tile-size", "32", "--overlap", "8", "--batch-size", "1", "--threads", "1", str(raster),
           str(out)]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(out.parent.glob(".*.part.tif")):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the run never started writing: {proc.communicate()}")
        time.sleep(0.05)
    time.sleep(0.5)  # well inside the tile loop
    return proc, out


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_sigterm_sighup_and_sigint_stop_quickly_and_leave_no_partial_file(tmp_path: Path, models,
                                                                          signum: int) -> None:
    proc, out = _start(tmp_path, models["identity"])
    proc.send_signal(signum)
    sent = time.monotonic()
    _, err = proc.communicate(timeout=60)
    assert time.monotonic() - sent < 10  # SIGINT once took 29 s while every tile window was built
    assert proc.returncode == 128 + signum, err
    said = "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
    assert said in err and "Traceback" not in err
    assert list(out.parent.iterdir()) == []


def test_after_sigkill_the_next_run_removes_the_partial_file(tmp_path: Path, models) -> None:
    proc, out = _start(tmp_path, models["identity"])
    proc.kill()
    proc.communicate(timeout=60)
    assert len(list(out.parent.glob(".*.part.tif"))) == 1  # nothing can run on SIGKILL
    small = make_raster(tmp_path / "small.tif", np.ones((3, 8, 8), np.uint8))
    restore(RestoreJob("dehaze", {"optical": small}, out.parent / "next.tif", model=models["identity"]))
    assert [p.name for p in out.parent.iterdir()] == ["next.tif"]
