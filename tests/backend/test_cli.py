from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from backend.cli import main
from tests.support.rasters import make_raster, read_raster

REPO = Path(__file__).resolve().parents[2]


def test_restore_with_json_progress(tmp_path: Path, models: dict[str, Path],
                                    capsys: pytest.CaptureFixture) -> None:
    data = np.random.default_rng(0).integers(0, 255, (3, 90, 90)).astype(np.uint8)
    make_raster(tmp_path / "in.tif", data)
    code = main(["restore", "--task", "dehaze", "--model", str(models["identity"]), "--tile-size", "32",
                 "--overlap", "8", "--threads", "1", "--json", str(tmp_path / "in.tif"),
                 str(tmp_path / "out.tif")])
    assert code == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    fractions = [e["fraction"] for e in events if e["event"] == "progress"]
    assert fractions[-1] == 1.0
    assert events[-1]["event"] == "done" and events[-1]["provider"] == "CPUExecutionProvider"
    assert np.array_equal(read_raster(tmp_path / "out.tif"), data)


def test_two_inputs_map_to_the_task_roles(tmp_path: Path, models: dict[str, Path]) -> None:
    make_raster(tmp_path / "vis.tif", np.ones((3, 20, 20), np.float32))
    make_raster(tmp_path / "ir.tif", np.zeros((1, 20, 20), np.float32))
    code = main(["restore", "--task", "derain_fuse", "--model", str(models["fuse"]),
                 str(tmp_path / "vis.tif"), str(tmp_path / "ir.tif"), str(tmp_path / "out.tif")])
    assert code == 0 and np.allclose(read_raster(tmp_path / "out.tif"), 0.5)


def test_reference_option_and_the_positional_order(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from tests.support import tiny_models

    model = str(tiny_models.reference_fill_model(tmp_path / "ref.onnx"))
    data = np.ones((3, 24, 24), np.float32)
    data[:, 5:7] = -9.0
    make_raster(tmp_path / "in.tif", data, nodata=-9.0)
    make_raster(tmp_path / "ref.tif", np.full((3, 24, 24), 4.0, np.float32))
    make_raster(tmp_path / "mask.tif", np.zeros((1, 24, 24), np.uint8))
    args = ["restore", "--task", "fill_gaps", "--model", model]
    assert main([*args, "--reference", str(tmp_path / "ref.tif"), str(tmp_path / "in.tif"),
                 str(tmp_path / "a.tif")]) == 0
    assert np.allclose(read_raster(tmp_path / "a.tif")[:, 5:7], 4.0)
    # optical, mask, reference, output: the task's order
    assert main([*args, str(tmp_path / "in.tif"), str(tmp_path / "mask.tif"), str(tmp_path / "ref.tif"),
                 str(tmp_path / "b.tif")]) == 0
    assert np.allclose(read_raster(tmp_path / "b.tif"), read_raster(tmp_path / "a.tif"))
    assert main(["restore", "--task", "dehaze", "--reference", str(tmp_path / "ref.tif"),
                 str(tmp_path / "in.tif"), str(tmp_path / "c.tif")]) == 1
    assert "takes no reference input" in capsys.readouterr().err


def test_strength_option(tmp_path: Path, models: dict[str, Path], capsys: pytest.CaptureFixture) -> None:
    data = np.random.default_rng(1).integers(0, 255, (3, 40, 40)).astype(np.uint8)
    make_raster(tmp_path / "in.tif", data)
    args = ["restore", "--task", "dehaze", "--model", str(models["conv"]), str(tmp_path / "in.tif")]
    assert main([*args[:-1], "--strength", "0", args[-1], str(tmp_path / "none.tif")]) == 0
    assert np.array_equal(read_raster(tmp_path / "none.tif"), data)  # strength 0: the input back
    assert main([*args, str(tmp_path / "full.tif")]) == 0
    assert not np.array_equal(read_raster(tmp_path / "full.tif"), data)
    assert main([*args[:-1], "--strength", "2", args[-1], str(tmp_path / "bad.tif")]) == 1
    assert "strength must be between 0 and 1" in capsys.readouterr().err
    assert not (tmp_path / "bad.tif").exists()


def test_black_level_option(tmp_path: Path, models: dict[str, Path], capsys: pytest.CaptureFixture) -> None:
    from backend.model_card import Normalization
    from tests.support import tiny_models

    scale = Normalization(mode="scale", high=99.5, per_band=False, range=(0.0, 0.8))
    model = tiny_models.conv3x3_model(tmp_path / "scale.onnx", normalization=scale)
    data = np.random.default_rng(2).integers(1000, 3000, (3, 40, 40)).astype(np.uint16)
    make_raster(tmp_path / "in.tif", data)
    plain = ["restore", "--task", "dehaze", "--model", str(model), str(tmp_path / "in.tif")]
    assert main([*plain, str(tmp_path / "plain.tif")]) == 0
    assert main([*plain[:-1], "--black-level", "1000", plain[-1], str(tmp_path / "anchored.tif")]) == 0
    assert not np.array_equal(read_raster(tmp_path / "plain.tif"), read_raster(tmp_path / "anchored.tif"))
    # a model with a fixed normalisation has no use for it: one clear line, no output
    other = ["restore", "--task", "dehaze", "--model", str(models["conv"]), "--black-level", "1000"]
    assert main([*other, str(tmp_path / "in.tif"), str(tmp_path / "bad.tif")]) == 1
    assert "so a black level does not apply; leave it at 0 (--black-level)" in capsys.readouterr().err
    assert not (tmp_path / "bad.tif").exists()


def test_an_error_names_the_flags_of_the_options_it_asks_to_change(
    tmp_path: Path, models: dict[str, Path], capsys: pytest.CaptureFixture
) -> None:
    make_raster(tmp_path / "in.tif", np.ones((3, 20, 20), np.float32))
    code = main(["restore", "--task", "dehaze", "--model", str(models["identity"]), "--tile-size", "32",
                 "--overlap", "16", str(tmp_path / "in.tif"), str(tmp_path / "out.tif")])
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip().endswith("lower the overlap or raise the tile size (--overlap, --tile-size)"), err


def test_errors_are_one_line_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["restore", "--task", "dehaze", str(tmp_path / "missing.tif"), str(tmp_path / "o.tif")])
    err = capsys.readouterr().err
    assert code != 0
    assert err.startswith("error: ") and "missing.tif" in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    assert main(["restore", "--task", "nope", "a.tif", "b.tif"]) == 1


def test_models_and_validate(models: dict[str, Path], capsys: pytest.CaptureFixture) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "fill_gaps:" in out and "dehaze-hsmr-lite 1.1.0 (default)  bands: red, green, blue" in out
    assert main(["models", "--task", "dehaze", "--json"]) == 0
    listed = {m["name"]: m["bands"] for m in json.loads(capsys.readouterr().out)}
    assert listed["dehaze-hsmr-lite"] == ["red", "green", "blue"]
    assert main(["validate", str(models["fill"])]) == 0
    assert "valid fill_gaps model test-mask-fill" in capsys.readouterr().out


def test_validate_corrupt_model_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"junk")
    assert main(["validate", str(bad)]) == 1
    assert "bad.onnx" in capsys.readouterr().err


def test_module_entry_point_and_debug_traceback(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "backend", "--debug", "restore", "--task", "dehaze",
           str(tmp_path / "missing.tif"), str(tmp_path / "o.tif")]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "InputRasterError" in proc.stderr


def test_extent_option(tmp_path: Path, models: dict[str, Path], capsys: pytest.CaptureFixture) -> None:
    from tests.support.rasters import DEFAULT_GEOTRANSFORM as GT

    data = np.random.default_rng(3).integers(0, 255, (3, 50, 60)).astype(np.uint8)
    make_raster(tmp_path / "in.tif", data)
    base = ["restore", "--task", "dehaze", "--model", str(models["identity"]), str(tmp_path / "in.tif")]
    extent = f"{GT[0] + 10 * GT[1]},{GT[3] + 30 * GT[5]},{GT[0] + 25 * GT[1]},{GT[3] + 5 * GT[5]}"
    assert main([*base[:-1], "--extent", extent, base[-1], str(tmp_path / "part.tif")]) == 0
    assert np.array_equal(read_raster(tmp_path / "part.tif"), data[:, 5:30, 10:25])
    capsys.readouterr()
    assert main([*base[:-1], "--extent", "1,2,3", base[-1], str(tmp_path / "bad.tif")]) == 1
    err = capsys.readouterr().err
    assert "xmin,ymin,xmax,ymax" in err and "--extent" in err and not (tmp_path / "bad.tif").exists()
