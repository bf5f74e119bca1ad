"""Evaluation through the engine users run, beside classical baselines on the same inputs.

For each test region of the task's data recipe (whole test blocks of the clean scenes, degraded
with a fixed seed, or the test images of real pairs) the degraded inputs are written as GeoTIFFs,
``backend.pipeline.restore`` runs the model on them exactly as the plugin and CLI do, and the
output raster is read back and compared with the ground truth in the unit domain [0, 1]: PSNR
(data range 1), SSIM (Gaussian 11x11) and SAM (degrees). Outputs are clipped to [0, 1] first, the
range of the ground truth. The baselines of ``training.baselines`` and the degraded input itself
(gaps filled with the band mean) are scored the same way. Writes ``<task>.md`` (table),
``<task>.json`` (every number) and side-by-side figures ``<task>_<region>.png`` (two per source).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from osgeo import gdal, osr
from tqdm import tqdm

from backend.model_card import TileSpec
from backend.pipeline import RestoreJob, restore
from backend.registry import resolve_model
from backend.tiling import single_tile_length

from .baselines import BASELINES
from .metrics import lab_cast, psnr, sam, ssim
from .readers import as_unit, read_raster
from .synthesis.base import Degradation

gdal.UseExceptions()

NODATA = -9999.0
INPUT_METHOD = "degraded input"
#: Side-by-side figures per source (scene or pair set) of the test regions.
FIGURES_PER_SOURCE = 2


def region_source(name: str) -> str:
    """``sentinel2_virginia_y0_x256`` -> ``sentinel2_virginia``; ``dust_12`` -> ``dust``."""
    return name.rsplit("_y", 1)[0] if "_y" in name else name.split("_")[0]


@dataclass
class EvalReport:
    task: str
    model: str
    markdown: str
    table_path: Path
    means: dict[str, dict[str, float]]
    regions: list[dict[str, object]] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)


def write_geotiff(path: Path, array: np.ndarray, nodata: float | None = None) -> Path:
    """A (C, H, W) array as a GeoTIFF on a 10 m UTM grid (float32, or uint8 for masks)."""
    dtype = gdal.GDT_Byte if array.dtype == np.uint8 else gdal.GDT_Float32
    bands, height, width = array.shape
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), width, height, bands, dtype)
    dataset.SetGeoTransform((500000.0, 10.0, 0.0, 4000000.0, 0.0, -10.0))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32618)
    dataset.SetProjection(srs.ExportToWkt())
    for b in range(bands):
        band = dataset.GetRasterBand(b + 1)
        data = array[b]
        if nodata is not None:
            band.SetNoDataValue(nodata)
            data = np.where(np.isfinite(data), data, nodata)
        band.WriteArray(data)
    dataset.FlushCache()
    dataset = None
    return path


def write_inputs(deg: Degradation, folder: Path) -> dict[str, Path]:
    """The degraded inputs as rasters a user would have: gaps as nodata, the mask as 0/1 bytes."""
    paths = {}
    for role, array in deg.inputs.items():
        path = folder / f"{role}.tif"
        if role == "mask":
            write_geotiff(path, (array > 0).astype(np.uint8))
        else:
            write_geotiff(path, array.astype(np.float32), NODATA if np.isnan(array).any() else None)
        paths[role] = path
    return paths


def input_baseline(deg: Degradation) -> np.ndarray:
    """The degraded optical input, gaps filled with each band's mean (a complete image to score)."""
    image = deg.inputs["optical"].astype(np.float32)
    if np.isnan(image).any():
        means = np.nanmean(image.reshape(image.shape[0], -1), axis=1)
        image = np.where(np.isnan(image), means[:, None, None], image).astype(np.float32)
    return image


def score(pred: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """PSNR/SSIM/SAM of ``pred`` clipped to [0, 1] against ``target``."""
    pred = np.clip(np.nan_to_num(pred, nan=0.0), 0.0, 1.0)
    out = {"psnr": psnr(pred, target), "ssim": ssim(pred, target)}
    if target.shape[0] > 1:
        out["sam"] = sam(pred, target)
    return out


def restore_file(task: str, model: Path, inputs: Mapping[str, Path], out: Path, *,
                 tile_size: int | None = None, device: str = "auto",
                 black_level: float = 0.0) -> tuple[np.ndarray, int]:  # fmt: skip
    """Run the engine on ``inputs`` (role -> raster) as users do, with float output.

    Returns the output as float32 and the number of tiles the run took.
    """
    result = restore(RestoreJob(task, {role: str(p) for role, p in inputs.items()}, str(out),
                                model=str(model), device=device, tile_size=tile_size, float_output=True,
                                black_level=black_level))  # fmt: skip
    return read_raster(result.output), result.tiles


def restore_with_engine(task: str, model: Path, deg: Degradation, workdir: Path) -> np.ndarray:
    """Run ``backend.pipeline.restore`` on the region's rasters; return the output as float32."""
    return restore_file(task, model, write_inputs(deg, workdir), workdir / "restored.tif")[0]


def single_tile_size(tile: TileSpec, height: int, width: int) -> int:
    """The smallest tile size with which the engine runs a ``height`` x ``width`` raster as one tile
    under the card's overlap and multiple: the reference a tiled run is compared with."""
    return single_tile_length(max(height, width), tile.overlap, tile.multiple)


def tile_dependence(tiled: np.ndarray, whole: np.ndarray, stretch: tuple[float, float]) -> dict[str, float]:
    """How far a tiled run is from a single-tile run, in units of the display stretch ``(lo, hi)``.

    Zero for a tile-invariant model; seams and per-tile colour shifts show up in ``max``/``p99``,
    a drift of the whole image in ``mean``. NaN (nodata) pixels count as equal.
    """
    lo, hi = stretch
    diff = np.abs(np.nan_to_num(tiled - whole)) / (hi - lo)
    return {"max_abs": round(float(diff.max()), 4), "mean_abs": round(float(diff.mean()), 5),
            "p99_abs": round(float(np.percentile(diff, 99)), 4)}  # fmt: skip


def evaluate_items(
    task: str,
    model: str | Path,
    items: Iterable[tuple[str, Degradation]],
    out_dir: Path,
    *,
    figures: bool = True,
    command: str = "",
    progress: bool = True,
) -> EvalReport:
    """Score the model and the baselines on ``items``; write the table, JSON and figures."""
    info = resolve_model(task, model)
    out_dir.mkdir(parents=True, exist_ok=True)
    methods = {
        INPUT_METHOD: input_baseline,
        **{k: (lambda d, f=f: f(d.inputs)) for k, f in BASELINES.get(task, {}).items()},
    }
    model_method = f"{info.name} (model)"
    regions: list[dict[str, object]] = []
    figure_paths: list[Path] = []
    per_source: dict[str, int] = {}
    for name, deg in tqdm(items, desc=f"evaluate {task}", unit="region", disable=not progress):
        results: dict[str, np.ndarray] = {m: fn(deg) for m, fn in methods.items()}
        with tempfile.TemporaryDirectory() as tmp:
            results[model_method] = restore_with_engine(task, info.path, deg, Path(tmp))
        scores = {m: score(r, deg.target) for m, r in results.items()}
        regions.append({"region": name, "shape": list(deg.target.shape), "scores": scores})
        source = region_source(name)
        if figures and per_source.get(source, 0) < FIGURES_PER_SOURCE:
            per_source[source] = per_source.get(source, 0) + 1
            figure_paths.append(side_by_side(out_dir / f"{task}_{name}.png", deg, results, scores))
    if not regions:
        raise ValueError(f"no test regions to evaluate for task {task!r}")
    means = {m: {k: float(np.mean([r["scores"][m][k] for r in regions])) for k in regions[0]["scores"][m]}
             for m in regions[0]["scores"]}  # fmt: skip
    markdown = render_table(task, info.name, means, len(regions), command)
    table_path = out_dir / f"{task}.md"
    table_path.write_text(markdown)
    (out_dir / f"{task}.json").write_text(json.dumps(
        {"task": task, "model": info.name, "model_path": str(info.path), "means": means, "regions": regions},
        indent=2))  # fmt: skip
    return EvalReport(task, info.name, markdown, table_path, means, regions, figure_paths)


def render_table(task: str, model: str, means: dict[str, dict[str, float]], count: int, command: str) -> str:
    metrics = list(next(iter(means.values())))
    header = "| method | " + " | ".join(m.upper() if m != "sam" else "SAM (deg)" for m in metrics) + " |"
    lines = [f"## {task}: {model} on {count} test region(s)", ""]
    if command:
        lines += [f"Reproduce: `{command}`", ""]
    lines += [header, "|" + "---|" * (len(metrics) + 1)]
    for method, values in means.items():
        cells = [f"{values[m]:.2f}" if m != "ssim" else f"{values[m]:.3f}" for m in metrics]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    lines += ["", "PSNR in dB (data range 1) and SSIM on the unit-domain images, SAM in degrees; "
              "higher PSNR/SSIM and lower SAM are better.", ""]  # fmt: skip
    return "\n".join(lines)


def side_by_side(path: Path, deg: Degradation, results: dict[str, np.ndarray],
                 scores: dict[str, dict[str, float]] | None) -> Path:  # fmt: skip
    """Degraded input | each method | ground truth, one common display stretch from the truth.

    With ``scores`` ``None`` the image has no ground truth (``deg.target`` is the input itself):
    the panels are titled with their CIELAB cast, shown without a stretch, and the truth panel is
    left out."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lo, hi = np.percentile(deg.target, [1, 99]) if scores is not None else (0.0, 1.0)  # photos as they are
    scale = max(float(hi - lo), 1e-6)

    def show(ax, image: np.ndarray, title: str) -> None:
        rgb = np.clip((np.nan_to_num(image[:3], nan=0.0) - lo) / scale, 0, 1)
        ax.imshow(np.moveaxis(rgb, 0, -1) if rgb.shape[0] == 3 else rgb[0], cmap="gray")
        ax.set_title(title, fontsize=8)
        ax.axis("off")

    panels = [(deg.inputs["optical"], "input")]
    if scores is None:
        panels += [(r, f"{m}\ncast {lab_cast(np.clip(np.nan_to_num(r[:3]), 0, 1)):.1f}")
                   for m, r in results.items() if m != INPUT_METHOD]  # fmt: skip
    else:
        panels += [(r, f"{m}\n{scores[m]['psnr']:.2f} dB / {scores[m]['ssim']:.3f}")
                   for m, r in results.items() if m != INPUT_METHOD]  # fmt: skip
        panels.append((deg.target, "ground truth"))
    fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 2.9))
    for ax, (image, title) in zip(np.atleast_1d(axes), panels, strict=True):
        show(ax, image, title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def evaluate_unlabelled(task: str, model: str | Path | None, images: Iterable[tuple[str, np.ndarray]],
                        out_dir: Path, *, command: str = "", figures: int = FIGURES_PER_SOURCE,
                        progress: bool = True) -> dict:  # fmt: skip
    """No-reference check on real degraded photos without ground truth (RGB, unit domain): the
    CIELAB colour cast (``metrics.lab_cast``) of the input, each baseline and the model, per source.
    Writes ``<task>_real.md``/``.json`` and side-by-side figures of the first images of each source."""
    info = resolve_model(task, model)
    baselines = BASELINES.get(task, {})
    model_method = f"{info.name} (model)"
    rows: list[dict[str, object]] = []
    shown: dict[str, int] = {}
    for name, image in tqdm(images, desc=f"real {task}", unit="image", disable=not progress):
        unit = as_unit(image)
        results = {INPUT_METHOD: unit, **{m: f({"optical": unit}) for m, f in baselines.items()}}
        with tempfile.TemporaryDirectory() as tmp:
            results[model_method] = restore_with_engine(task, info.path, Degradation({"optical": unit}, unit),
                                                        Path(tmp))  # fmt: skip
        casts = {m: lab_cast(np.clip(np.nan_to_num(r[:3]), 0.0, 1.0)) for m, r in results.items()}
        source = region_source(name)
        rows.append({"image": name, "source": source, "cast": casts})
        if shown.get(source, 0) < figures:
            shown[source] = shown.get(source, 0) + 1
            side_by_side(out_dir / f"{task}_real_{name}.png", Degradation({"optical": unit}, unit), results,
                         None)  # fmt: skip
    sources = sorted({r["source"] for r in rows})
    methods = list(rows[0]["cast"])
    means = {src: {m: float(np.mean([r["cast"][m] for r in rows if r["source"] == src])) for m in methods}
             for src in sources}  # fmt: skip
    lines = [f"## {task}: colour cast on real photos without ground truth ({info.name})", ""]
    if command:
        lines += [f"Reproduce: `{command}`", ""]
    lines += ["| source | images | " + " | ".join(methods) + " |", "|---|---|" + "---|" * len(methods)]
    for src in sources:
        count = sum(r["source"] == src for r in rows)
        lines.append(f"| {src} | {count} | " + " | ".join(f"{means[src][m]:.2f}" for m in methods) + " |")
    lines += ["", "Mean CIELAB chroma offset `hypot(mean a*, mean b*)` of each output: lower is a more "
              "neutral colour balance (0 = balances to grey).", ""]  # fmt: skip
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{task}_real.md").write_text("\n".join(lines))
    result = {"task": task, "model": info.name, "means": means, "images": rows}
    (out_dir / f"{task}_real.json").write_text(json.dumps(result, indent=2))
    return result


#: NiteDR's own fusion row on the 40 RoadScene-rain test pairs (paper / README Table II; seed_models.md §4).
NITEDR_PAPER = {"psnr": 64.71, "ssim": 0.491, "ms_ssim": 0.889, "mi": 2.96, "vif": 0.577, "cc": 0.650,
                "fmi_pixel": 0.862, "qabf": 0.460}  # fmt: skip
FUSION_COLUMNS = {"psnr": "PSNR", "ssim": "SSIM", "ms_ssim": "MS-SSIM", "mi": "MI", "vif": "VIF", "cc": "CC",
                  "fmi_pixel": "FMI_pixel", "qabf": "Qabf"}  # fmt: skip


def _means(rows: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    return {m: {k: float(np.mean([r[m][k] for r in rows])) for k in rows[0][m]} for m in rows[0]}


def evaluate_stages(task: str, model: str | Path | None, items: Iterable[tuple[str, Degradation]],
                    out_dir: Path, *, figures: bool = True, command: str = "",
                    progress: bool = True) -> EvalReport:  # fmt: skip
    """A task that runs in stages (derain_fuse), through the engine with the first stage's result
    kept: table 1 scores that result (DERAINED) and the classical de-rainer against the clean visible
    image (PSNR/SSIM), table 2 the fusion metrics (``training.fusion_metrics``) of OUTPUT and the
    classical fusions, all fusing the same DERAINED image with the infrared image, beside the paper."""
    from backend.tasks import get_task

    from .baselines.rain_fusion import laplacian_pyramid_fusion, median_guided_derain, weighted_average_fusion
    from .fusion_metrics import fusion_scores

    info = resolve_model(task, model)
    first = get_task(task).stages[0]
    out_dir.mkdir(parents=True, exist_ok=True)
    derain_rows, fusion_rows, regions, figure_paths = [], [], [], []
    stage_models: dict[str, str] = {}
    for name, deg in tqdm(items, desc=f"evaluate {task}", unit="region", disable=not progress):
        with tempfile.TemporaryDirectory() as tmp:
            inputs = write_inputs(deg, Path(tmp))
            job = RestoreJob(task, {r: str(p) for r, p in inputs.items()}, str(Path(tmp) / "out.tif"),
                             model=str(info.path), float_output=True,
                             stage_outputs={first: str(Path(tmp) / "stage1.tif")})  # fmt: skip
            result = restore(job)
            stage_models = result.stage_models
            derained = read_raster(Path(tmp) / "stage1.tif")
            fused = read_raster(result.output)
        visible, infrared = deg.inputs["optical"], deg.inputs["infrared"]
        clean = np.clip(np.nan_to_num(derained), 0.0, 1.0)
        derain = {INPUT_METHOD: visible, "median 5x5 + guided filter": median_guided_derain(visible),
                  f"{stage_models.get(first, info.name)} (DERAINED)": derained}  # fmt: skip
        fusion = {"weighted average (Y)": weighted_average_fusion(clean, infrared),
                  "Laplacian pyramid (Y, 4 levels)": laplacian_pyramid_fusion(clean, infrared),
                  f"{info.name if not stage_models else result.model} (OUTPUT)": fused}  # fmt: skip
        derain_scores = {m: score(r, deg.target) for m, r in derain.items()}
        fusion_scores_ = {m: fusion_scores(clean, infrared, np.clip(np.nan_to_num(r), 0, 1))
                          for m, r in fusion.items()}  # fmt: skip
        derain_rows.append(derain_scores)
        fusion_rows.append(fusion_scores_)
        regions.append({"region": name, "derain": derain_scores, "fusion": fusion_scores_})
        if figures and len(figure_paths) < FIGURES_PER_SOURCE:
            shown = {**{k: v for k, v in derain.items() if k != INPUT_METHOD}, **fusion}
            scores = {m: score(r, deg.target) for m, r in shown.items()}  # all against the clean visible
            figure_paths.append(side_by_side(out_dir / f"{task}_{name}.png", deg, shown, scores))
    if not regions:
        raise ValueError(f"no test regions to evaluate for task {task!r}")
    derain_means, fusion_means = _means(derain_rows), _means(fusion_rows)
    lines = [f"## {task}: {result.model if stage_models else info.name} on {len(regions)} test pair(s)", ""]
    if command:
        lines += [f"Reproduce: `{command}`", ""]
    lines += ["Table 1, de-raining: PSNR (dB, data range 1) / SSIM against the clean visible image at the "
              "same night exposure.", "", "| method | PSNR | SSIM |", "|---|---|---|"]
    lines += [f"| {m} | {v['psnr']:.2f} | {v['ssim']:.3f} |" for m, v in derain_means.items()]
    lines += ["", "Table 2, fusion of DERAINED with the infrared image: the fusion toolbox's metrics against "
              "both sources (grey; higher is better; fusion-PSNR is not a restoration PSNR).", "",
              "| method | " + " | ".join(FUSION_COLUMNS.values()) + " |",
              "|---|" + "---|" * len(FUSION_COLUMNS)]
    for m, v in [*fusion_means.items(), ("NiteDR (paper, its own test set and sources)", NITEDR_PAPER)]:
        lines.append(f"| {m} | " + " | ".join(f"{v[k]:.2f}" if k in ("psnr", "mi") else f"{v[k]:.3f}"
                                              for k in FUSION_COLUMNS) + " |")  # fmt: skip
    markdown = "\n".join([*lines, ""])
    table_path = out_dir / f"{task}.md"
    table_path.write_text(markdown)
    (out_dir / f"{task}.json").write_text(json.dumps(
        {"task": task, "model": info.name, "stage_models": stage_models, "derain": derain_means,
         "fusion": fusion_means, "paper": NITEDR_PAPER, "regions": regions}, indent=2))  # fmt: skip
    return EvalReport(task, info.name, markdown, table_path, {**derain_means, **fusion_means}, regions,
                      figure_paths)  # fmt: skip


def evaluate_task(task: str, *, model: str | None, data_root: Path, out_dir: Path, limit: int | None = None,
                  figures: bool = True) -> EvalReport:  # fmt: skip
    """``python -m training evaluate --task T``: the recipe's test regions from ``data_root``; a task
    that runs in stages takes its first stage's recipe and is scored by ``evaluate_stages``."""
    import itertools

    from backend.tasks import get_task

    from .data.recipes import evaluation_regions
    from .data.unlabelled import UNLABELLED_SOURCES
    from .specs import get_spec

    stages = get_task(task).stages
    spec = get_spec(task, stages[0] if stages else None)
    items = evaluation_regions(spec, data_root)
    if limit:
        items = itertools.islice(items, limit)
    command = f"python -m training evaluate --task {task}" + (f" --model {model}" if model else "") + (
        f" --limit {limit}" if limit else "")  # fmt: skip
    if stages:
        return evaluate_stages(task, model, items, out_dir, figures=figures, command=command)
    report = evaluate_items(task, model, items, out_dir, figures=figures, command=command)
    if spec.unlabelled:
        real = UNLABELLED_SOURCES[spec.unlabelled](data_root).get("test", [])
        if real:
            evaluate_unlabelled(task, model, real[:limit] if limit else real, out_dir, command=command,
                                figures=FIGURES_PER_SOURCE if figures else 0)  # fmt: skip
    return report
