"""Evaluation runs the engine on a tiny synthetic set, and its numbers match a direct computation."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest
import torch

from backend.normalization import compute_stats, denormalize, normalize
from training.archs import build_arch
from training.checkpoint import save_checkpoint
from training.evaluate import evaluate_items, restore_with_engine
from training.export import export_checkpoint
from training.model import RestorationModel
from training.synthesis import SYNTHESES

from .helpers import tiny_scene, tiny_spec

torch.set_num_threads(1)


def _package(tmp_path, task):
    spec = tiny_spec(task)
    torch.manual_seed(0)
    net, cfg = build_arch("tiny", "lite", in_channels=spec.in_channels, out_channels=spec.out_channels)
    ckpt = tmp_path / f"{task}.pt"
    model = RestorationModel(net, spec)
    save_checkpoint(
        ckpt, spec=spec, train_config=spec.lite, arch_config=cfg, model=model, step=1, best_psnr=float("nan")
    )
    return export_checkpoint(ckpt, tmp_path / f"{task}_tiny.onnx").path, spec


def _items(kind, count=2, size=48):
    entry = SYNTHESES[kind]
    for i in range(count):
        clean = tiny_scene(f"s{i}", size=size, seed=i).image
        yield f"region{i}", entry.synth({"optical": clean}, np.random.default_rng(i), entry.config_cls(),
                                        ("red", "green", "blue"))  # fmt: skip


def _psnr(pred, target):
    return 10 * np.log10(1.0 / np.mean((np.clip(pred, 0, 1).astype(np.float64) - target) ** 2))


def test_dehaze_evaluation_matches_a_direct_computation(tmp_path):
    path, spec = _package(tmp_path, "dehaze")
    items = list(_items("haze"))
    report = evaluate_items("dehaze", path, iter(items), tmp_path / "docs")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    norm = spec.inputs[0].normalization
    direct_model, direct_input = [], []
    for i, (region, (_, deg)) in enumerate(zip(report.regions, items, strict=True)):
        # The metric: PSNR of the engine's output raster, computed here with plain numpy.
        workdir = tmp_path / f"direct{i}"
        workdir.mkdir()
        engine_out = restore_with_engine("dehaze", path, deg, workdir)
        direct_model.append(_psnr(engine_out, deg.target))
        direct_input.append(_psnr(deg.inputs["optical"], deg.target))
        assert region["scores"]["dehaze_tiny (model)"]["psnr"] == pytest.approx(direct_model[-1], abs=1e-9)
        # And the engine's output is the network applied with whole-raster normalisation (up to the
        # border padding of the tile).
        hazy = deg.inputs["optical"]
        stats = compute_stats(hazy, norm)
        out = session.run(None, {"hazy": normalize(hazy, norm, stats)[None]})[0][0]
        restored = denormalize(out, norm, stats, spec.output_range)
        assert _psnr(restored, deg.target) == pytest.approx(direct_model[-1], abs=0.05)
        np.testing.assert_allclose(engine_out[:, 2:-2, 2:-2], restored[:, 2:-2, 2:-2], atol=1e-4)
    assert report.means["dehaze_tiny (model)"]["psnr"] == pytest.approx(np.mean(direct_model), abs=1e-9)
    assert report.means["degraded input"]["psnr"] == pytest.approx(np.mean(direct_input), abs=1e-6)
    assert set(report.means) == {
        "degraded input",
        "dark channel prior + guided filter",
        "dehaze_tiny (model)",
    }
    assert all(0 < v["ssim"] <= 1 and v["sam"] >= 0 for v in report.means.values())
    # Table, JSON and figures are written.
    assert "| dehaze_tiny (model) |" in report.table_path.read_text()
    saved = json.loads((tmp_path / "docs" / "dehaze.json").read_text())
    assert saved["means"] == report.means
    assert len(report.figures) == 2 and all(p.is_file() for p in report.figures)


def test_fill_gaps_evaluation_runs_with_nodata_and_masks(tmp_path):
    path, _ = _package(tmp_path, "fill_gaps")
    report = evaluate_items("fill_gaps", path, _items("gaps", count=1), tmp_path / "docs", figures=False)
    means = report.means
    methods = {"degraded input", "GDAL FillNodata", "push-pull interpolation", "fill_gaps_tiny (model)"}
    assert set(means) == methods
    assert means["GDAL FillNodata"]["psnr"] > means["degraded input"]["psnr"]
    assert np.isfinite(means["fill_gaps_tiny (model)"]["psnr"])
    # Gap pixels alone: a lower PSNR than over the whole image, whose valid pixels are exact.
    for values in means.values():
        assert values["psnr_gaps"] < values["psnr"] and 0 < values["ssim_gaps"] < values["ssim"]
    gaps = report.regions[0]["scores"]["degraded input"]["psnr_gaps"]
    (_, deg), = _items("gaps", count=1)
    mask = deg.mask[0] > 0
    from training.evaluate import input_baseline

    error = input_baseline(deg)[:, mask].astype(np.float64) - deg.target[:, mask]
    direct = 10 * np.log10(1 / np.mean(error**2))
    assert gaps == pytest.approx(direct, abs=1e-6)


def test_fill_gaps_evaluation_with_a_reference_date_scores_the_llhm_baseline(tmp_path):
    path, _ = _package(tmp_path, "fill_gaps")
    (name, deg), = _items("gaps", count=1)
    deg.inputs["reference"] = 0.7 * deg.target + 0.1  # another date of the same ground
    report = evaluate_items("fill_gaps", path, [(name, deg)], tmp_path / "docs", suffix="_reference",
                            title="with a reference")  # fmt: skip
    assert report.table_path.name == "fill_gaps_reference.md" and "(with a reference)" in report.markdown
    llhm = report.means["LLHM-style (reference date)"]
    assert llhm["psnr_gaps"] > report.means["GDAL FillNodata"]["psnr_gaps"] + 10  # an exact linear map
    assert len(report.figures) == 1 and report.figures[0].name.startswith("fill_gaps_reference_")


def test_real_slc_off_regions_have_truth_on_their_new_gaps(shared_data):
    from training.data.real_gaps import SIZE, slc_off_regions

    regions = list(slc_off_regions(shared_data))
    assert len(regions) == 6
    for _, deg in regions:
        gaps = deg.mask[0] > 0
        assert deg.target.shape == (3, SIZE, SIZE) and 0.02 < gaps.mean() < 0.4
        assert np.isfinite(deg.target[:, gaps]).all()  # scored pixels have a true value
        assert np.isnan(deg.inputs["optical"][:, gaps]).all()
        assert np.isfinite(deg.inputs["reference"]).all(axis=0).mean() > 0.5


def test_decloud_evaluation_splits_kinds_and_checks_clean_input(tmp_path):
    from training.evaluate import kind_tables, passthrough_table

    path, _ = _package(tmp_path, "decloud")
    report = evaluate_items("decloud", path, list(_items("clouds", count=3)), tmp_path, figures=False,
                            progress=False)  # fmt: skip
    kinds = {r["kind"] for r in report.regions}
    assert kinds <= {"thick", "thin", "clear"} and kinds
    table = kind_tables(report.regions)
    for kind in kinds:
        count = sum(r["kind"] == kind for r in report.regions)
        assert f"| {kind} | {count} |" in table
    # The clean pass-through scores the model on the clean images: an untrained tiny model moves them.
    text = passthrough_table("decloud", report.model, path, _items("clouds", count=2), tmp_path)
    rows = json.loads((tmp_path / "decloud_clean.json").read_text())["regions"]
    assert len(rows) == 2 and f"mean **{np.mean([r['psnr'] for r in rows]):.2f} dB**" in text


def test_real_scene_check_is_skipped_without_the_bands(tmp_path):
    from training.evaluate import real_scene_check
    from training.specs import get_spec

    text = real_scene_check("decloud", get_spec("decloud"), None, tmp_path / "no-data", tmp_path)
    assert "skipped" in text
