"""Evaluation through the engine users run, beside classical baselines on the same inputs.

For each test region of the task's data recipe (whole test blocks of the clean scenes, degraded
with a fixed seed, or the test images of real pairs) the degraded inputs are written as GeoTIFFs,
``backend.pipeline.restore`` runs the model on them exactly as the plugin and CLI do, and the
output raster is read back and compared with the ground truth in the unit domain [0, 1]: PSNR
(data range 1), SSIM (Gaussian 11x11) and SAM (degrees). Outputs are clipped to [0, 1] first, the
range of the ground truth. The baselines of ``training.baselines`` and the degraded input itself
(gaps filled with the band mean) are scored the same way, with a task's own scores beside them
(``EXTRA_METRICS``: dehaze adds its colour cast and crushed shadows). Writes ``<task>.md`` (table),
``<task>.json`` (every number) and side-by-side figures ``<task>_<region>.png`` (two per source);
a task's further checks (``training.evaluation.EXTRA_CHECKS``) add their sections, numbers and
figures to the same files.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from collections.abc import Callable, Iterable, Mapping
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
from .config import TaskSpec
from .metrics import colour_cast, crushed_share, lab_cast, psnr, sam, ssim, ssim_on
from .paths import REPO_ROOT
from .readers import as_unit, read_raster
from .synthesis.base import Degradation

gdal.UseExceptions()

NODATA = -9999.0
INPUT_METHOD = "degraded input"
#: Side-by-side figures per source (scene or pair set) of the test regions.
FIGURES_PER_SOURCE = 2
#: A band at or below this value (of the unit domain) counts as clipped to black (``crushed``).
CRUSHED_BLACK = 1e-3

Metric = Callable[[np.ndarray, np.ndarray], float]

#: Scores a task reports beside PSNR/SSIM/SAM, each of the prediction (clipped to [0, 1]) and the
#: target. Dehaze: the colour cast against the reference (degrees between the mean colours) and the
#: share of pixels with a band clipped to black, which over-dehazing leaves in shadows.
EXTRA_METRICS: dict[str, dict[str, Metric]] = {
    "dehaze": {"cast": colour_cast, "crushed": lambda pred, target: crushed_share(pred, CRUSHED_BLACK)},
}

#: ONNX Runtime's CPU threads for every engine run of the evaluation (``None``: one per core).
_engine_threads: int | None = None


def set_engine_threads(threads: int | None) -> None:
    """Cap the CPU threads of the engine runs that follow (``--threads``)."""
    global _engine_threads
    _engine_threads = threads


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


def shown_path(path: Path) -> str:
    """``path`` relative to the repository when inside it: no machine's folders in a published JSON."""
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


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


def score(pred: np.ndarray, target: np.ndarray, mask: np.ndarray | None = None,
          extra: Mapping[str, Metric] | None = None) -> dict[str, float]:  # fmt: skip
    """PSNR/SSIM/SAM (and the ``extra`` metrics) of ``pred`` clipped to [0, 1] against ``target``;
    with a gap ``mask`` (1, H, W) also PSNR and SSIM on the gap pixels alone (``psnr_gaps``,
    ``ssim_gaps``: what was reconstructed). A target with NaN (real imagery with gaps of its own) is
    scored on its known gap pixels only, its own gaps taken as equal in both for the SSIM windows."""
    pred = np.clip(np.nan_to_num(pred, nan=0.0), 0.0, 1.0)
    known = np.isfinite(target).all(axis=0)
    out: dict[str, float] = {}
    if known.all():
        out = {"psnr": psnr(pred, target), "ssim": ssim(pred, target)}
        if target.shape[0] > 1:
            out["sam"] = sam(pred, target)
        out.update({name: metric(pred, target) for name, metric in (extra or {}).items()})
    if mask is not None:
        gaps = (mask[0] > 0) & known
        truth = np.where(known, target, pred)
        out["psnr_gaps"] = psnr(pred, truth, valid=gaps)
        out["ssim_gaps"] = ssim_on(pred, truth, gaps)
    return out


def restore_file(task: str, model: Path, inputs: Mapping[str, Path], out: Path, *,
                 tile_size: int | None = None, device: str = "auto", black_level: float = 0.0,
                 strength: float = 1.0) -> tuple[np.ndarray, int]:  # fmt: skip
    """Run the engine on ``inputs`` (role -> raster) as users do, with float output.

    Returns the output as float32 and the number of tiles the run took.
    """
    result = restore(RestoreJob(task, {role: str(p) for role, p in inputs.items()}, str(out),
                                model=str(model), device=device, tile_size=tile_size, float_output=True,
                                black_level=black_level, strength=strength,
                                threads=_engine_threads))  # fmt: skip
    return read_raster(result.output), result.tiles


def restore_with_engine(task: str, model: Path, deg: Degradation, workdir: Path, **options) -> np.ndarray:
    """Run ``backend.pipeline.restore`` on the region's rasters (``options``: those of
    ``restore_file``); return the output as float32."""
    return restore_file(task, model, write_inputs(deg, workdir), workdir / "restored.tif", **options)[0]


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
    suffix: str = "",
    title: str = "",
) -> EvalReport:
    """Score the model and the baselines on ``items``; write the table, JSON and figures
    (``<task><suffix>.md``; ``title`` says what the items are). A baseline returning ``None`` does
    not apply to an item (it needs an input the item lacks) and is left out."""
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
        results = {m: r for m, r in ((m, fn(deg)) for m, fn in methods.items()) if r is not None}
        with tempfile.TemporaryDirectory() as tmp:
            results[model_method] = restore_with_engine(task, info.path, deg, Path(tmp))
        scores = {m: score(r, deg.target, deg.mask, EXTRA_METRICS.get(task)) for m, r in results.items()}
        regions.append({"region": name, "shape": list(deg.target.shape), "scores": scores,
                        **({"kind": str(deg.info["kind"])} if "kind" in deg.info else {})})  # fmt: skip
        source = region_source(name)
        if figures and per_source.get(source, 0) < FIGURES_PER_SOURCE:
            per_source[source] = per_source.get(source, 0) + 1
            figure_paths.append(side_by_side(out_dir / f"{task}{suffix}_{name}.png", deg, results, scores))
    if not regions:
        raise ValueError(f"no test regions to evaluate for task {task!r}")
    means = headline_means(regions)
    scored = [r for r in regions if r.get("kind") != CLEAR]
    markdown = render_table(task, info.name, means, len(scored), command, title)
    table_path = out_dir / f"{task}{suffix}.md"
    table_path.write_text(markdown)
    (out_dir / f"{task}{suffix}.json").write_text(json.dumps(
        {"task": task, "model": info.name, "model_path": shown_path(info.path), "means": means,
         "regions": regions},
        indent=2))  # fmt: skip
    return EvalReport(task, info.name, markdown, table_path, means, regions, figure_paths)


METRIC_TITLES = {"sam": "SAM (deg)", "psnr_gaps": "PSNR gaps", "ssim_gaps": "SSIM gaps", "cast": "cast (deg)",
                 "crushed": "crushed (%)"}  # fmt: skip


def format_metric(name: str, value: float) -> str:
    """A score as the tables print it: SSIM to 3 decimals, shares in per cent, the rest to 2."""
    if name.startswith("ssim"):
        return f"{value:.3f}"
    return f"{100 * value:.2f}" if name == "crushed" else f"{value:.2f}"


def means_rows(means: dict[str, dict[str, float]]) -> list[str]:
    """A Markdown table of mean scores: one row per method, one column per metric."""
    metrics = list(next(iter(means.values())))
    lines = ["| method | " + " | ".join(METRIC_TITLES.get(m, m.upper()) for m in metrics) + " |",
             "|" + "---|" * (len(metrics) + 1)]  # fmt: skip
    for method, values in means.items():
        lines.append(f"| {method} | " + " | ".join(format_metric(m, values[m]) for m in metrics) + " |")
    return lines


def render_table(task: str, model: str, means: dict[str, dict[str, float]], count: int, command: str,
                 title: str = "") -> str:  # fmt: skip
    metrics = list(next(iter(means.values())))
    lines = [f"## {task}: {model} on {count} test region(s){f' ({title})' if title else ''}", ""]
    if command:
        lines += [f"Reproduce: `{command}`", ""]
    lines += means_rows(means)
    lines += ["", "PSNR in dB (data range 1) and SSIM on the unit-domain images, SAM in degrees; "
              "higher PSNR/SSIM and lower SAM are better."]  # fmt: skip
    if "psnr_gaps" in metrics:
        lines += ["PSNR gaps / SSIM gaps: on the reconstructed (gap) pixels alone."]
    if "cast" in metrics:
        lines += ["Cast: degrees between the mean colours of the result and the reference; crushed: share of "
                  f"pixels with a band at or below {CRUSHED_BLACK:g} (shadows clipped to black)."]
    lines.append("")
    return "\n".join(lines)


def side_by_side(path: Path, deg: Degradation, results: dict[str, np.ndarray],
                 scores: dict[str, dict[str, float]] | None) -> Path:  # fmt: skip
    """Degraded input | each method | ground truth, one common display stretch from the truth.

    With ``scores`` ``None`` the image has no ground truth (``deg.target`` is the input itself):
    the panels are titled with their CIELAB cast, shown without a stretch, and the truth panel is
    left out."""
    from .figures import Panel, common_stretch, panel_grid

    stretch = common_stretch([deg.target], percentiles=(1, 99)) if scores is not None else (0.0, 1.0)
    row = [Panel(deg.inputs["optical"], "input", stretch)]
    if "reference" in deg.inputs:  # another date: its own radiometry, its own stretch
        reference = deg.inputs["reference"]
        row.append(Panel(reference, "reference date", common_stretch([reference], percentiles=(1, 99))))
    if scores is None:
        row += [Panel(r, f"{m}\ncast {lab_cast(np.clip(np.nan_to_num(r[:3]), 0, 1)):.1f}", stretch)
                for m, r in results.items() if m != INPUT_METHOD]  # fmt: skip
    else:
        key = "_gaps" if "psnr_gaps" in next(iter(scores.values())) else ""
        row += [Panel(r, f"{m}\n{scores[m]['psnr' + key]:.2f} dB / {scores[m]['ssim' + key]:.3f}", stretch)
                for m, r in results.items() if m != INPUT_METHOD]  # fmt: skip
        row.append(Panel(deg.target, "ground truth", stretch))
    return panel_grid(path, [row], dpi=110)


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


#: The kind of a region with nothing to restore (a clear sky): its input scores infinite PSNR, so it
#: is left out of the headline means and reported in the per-kind table and the pass-through check.
CLEAR = "clear"


def mean_scores(rows: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Per method, the mean of each score over ``rows`` (method -> score -> value)."""
    return {m: {k: float(np.mean([r[m][k] for r in rows])) for k in rows[0][m]} for m in rows[0]}


def headline_means(regions: list[dict]) -> dict[str, dict[str, float]]:
    """Mean of every score of every method over the regions that have something to restore."""
    scored = [r["scores"] for r in regions if r.get("kind") != CLEAR]
    return mean_scores(scored or [r["scores"] for r in regions])


def kind_tables(regions: list[dict]) -> str:
    """Means per kind of degradation (e.g. thick, thin, clear sky) where the synthesis names one."""
    kinds = sorted({r["kind"] for r in regions if "kind" in r})
    if not kinds:
        return ""
    methods = list(regions[0]["scores"])
    lines = ["### By kind of degradation", "", "| kind | regions | " + " | ".join(methods) + " |",
             "|---|---|" + "---|" * len(methods)]  # fmt: skip
    for kind in kinds:
        rows = [r["scores"] for r in regions if r.get("kind") == kind]
        means = mean_scores(rows)
        cells = [f"{means[m]['psnr']:.2f} / {means[m]['ssim']:.3f}" for m in methods]
        lines.append(f"| {kind} | {len(rows)} | " + " | ".join(cells) + " |")
    return "\n".join(lines + ["", "PSNR (dB) / SSIM per kind.", ""])


def passthrough_table(task: str, name: str, model: str | Path | None,
                      items: Iterable[tuple[str, Degradation]], out_dir: Path) -> str:  # fmt: skip
    """Run the model on each test region's *clean* image: how far it moves imagery that has nothing
    to restore (PSNR of the output against its own input; a decloud model must leave clear ground
    alone). Writes ``<task>_clean.json``."""
    info = resolve_model(task, model)
    rows = []
    for region, deg in items:
        clean = Degradation({"optical": deg.target}, deg.target)
        with tempfile.TemporaryDirectory() as tmp:
            out = restore_with_engine(task, info.path, clean, Path(tmp))
        rows.append({"region": region, "psnr": score(out, deg.target)["psnr"]})
    values = [r["psnr"] for r in rows]
    (out_dir / f"{task}_clean.json").write_text(json.dumps({"model": name, "regions": rows}, indent=2))
    return "\n".join([
        "### Clean input passed through", "",
        f"The model on the {len(rows)} clean test regions themselves: PSNR of its output against its input, "
        f"mean **{np.mean(values):.2f} dB**, worst {np.min(values):.2f} dB.", ""])  # fmt: skip


def real_scene_check(task: str, spec, model: str | Path | None, data_root: Path, out_dir: Path, *,
                     figures: bool = True) -> str:  # fmt: skip
    """Restore the spec's real degraded scene through the engine, as a user would (raw values, the
    scene's black level); report how much the model changes its clear pixels (PSNR against the input
    over the QA-clear pixels: high is good) and its degraded ones, and write a figure with the mask."""
    from .data.real_scenes import REAL_SCENES

    scene = REAL_SCENES[spec.real_scene]
    bands = spec.inputs[0].bands
    if not scene.has(bands) or not all((data_root / scene.files[b]).exists() for b in bands):
        return f"### Real scene\n\n{scene.name} has no {', '.join(bands)} bands here: skipped.\n"
    from .readers import read_stack

    raw = read_stack([(data_root / scene.files[b], 1) for b in bands])
    degraded, clear = scene.masks(data_root)
    info = resolve_model(task, model)
    with tempfile.TemporaryDirectory() as tmp:
        src = write_geotiff(Path(tmp) / "scene.tif", raw)
        out, _ = restore_file(task, info.path, {"optical": src}, Path(tmp) / "out.tif",
                              black_level=scene.black_level)  # fmt: skip
    lo, hi = scene.black_level, float(np.percentile(raw, 99.5))
    unit_in, unit_out = ((a - lo) / (hi - lo) for a in (raw, out))
    fidelity = psnr(np.clip(unit_out[:, clear], 0, 1), np.clip(unit_in[:, clear], 0, 1))
    brightness = (float(unit_in[:, degraded].mean()), float(unit_out[:, degraded].mean()),
                  float(unit_in[:, clear].mean()))  # fmt: skip
    result = {"scene": scene.name, "clear_pixels": int(clear.sum()), "degraded_pixels": int(degraded.sum()),
              "clear_psnr_vs_input": fidelity, "degraded_mean_in": brightness[0],
              "degraded_mean_out": brightness[1], "clear_mean": brightness[2]}  # fmt: skip
    (out_dir / f"{task}_real_scene.json").write_text(json.dumps(result, indent=2))
    if figures:
        shown = [bands.index(b) for b in ("red", "green", "blue") if b in bands] or [0]
        figure = out_dir / f"{task}_real_{scene.name}.png"
        _real_scene_figure(figure, unit_in[shown], unit_out[shown], degraded, info.name)
    return "\n".join([
        f"### Real scene: {scene.citation}", "",
        f"QA-clear pixels ({clear.mean():.0%}) changed by the model: PSNR against the input "
        f"{fidelity:.2f} dB. QA-cloudy pixels ({degraded.mean():.0%}): mean brightness "
        f"{brightness[0]:.3f} in, {brightness[1]:.3f} out (clear ground: {brightness[2]:.3f}). "
        f"Figure: `{task}_real_{scene.name}.png`.", ""])  # fmt: skip


def _real_scene_figure(path: Path, unit_in: np.ndarray, unit_out: np.ndarray, mask: np.ndarray,
                       name: str) -> Path:  # fmt: skip
    from .figures import Panel, panel_grid

    row = [Panel(unit_in, "real input"), Panel(mask.astype(np.float32), "QA mask (cloud, cirrus)"),
           Panel(unit_out, name)]  # fmt: skip
    return panel_grid(path, [row], cell=(11 / 3, 3.8))


#: NiteDR's own fusion row on the 40 RoadScene-rain test pairs (paper / README Table II; seed_models.md §4).
NITEDR_PAPER = {"psnr": 64.71, "ssim": 0.491, "ms_ssim": 0.889, "mi": 2.96, "vif": 0.577, "cc": 0.650,
                "fmi_pixel": 0.862, "qabf": 0.460}  # fmt: skip
FUSION_COLUMNS = {"psnr": "PSNR", "ssim": "SSIM", "ms_ssim": "MS-SSIM", "mi": "MI", "vif": "VIF", "cc": "CC",
                  "fmi_pixel": "FMI_pixel", "qabf": "Qabf"}  # fmt: skip


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
    derain_means, fusion_means = mean_scores(derain_rows), mean_scores(fusion_rows)
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
                  figures: bool = True, variant: str | None = None) -> EvalReport:  # fmt: skip
    """``python -m training evaluate --task T``: the recipe's test regions from ``data_root`` (in the
    bands of ``model``'s card); a task that runs in stages takes its first stage's recipe and is
    scored by ``evaluate_stages``; the checks of ``training.evaluation.EXTRA_CHECKS`` follow."""
    import itertools

    from backend.tasks import get_task

    from .data.recipes import evaluation_regions
    from .data.unlabelled import UNLABELLED_SOURCES
    from .evaluation import run_checks
    from .specs import get_spec

    stages = get_task(task).stages
    spec = spec_for_model(get_spec(task, stages[0] if stages else None, variant=variant), model)
    command = f"python -m training evaluate --task {task}" + (f" --variant {variant}" if variant else "") + (
        f" --model {model}" if model else "") + (
        f" --limit {limit}" if limit else "")  # fmt: skip
    if any(s.role == "reference" for s in spec.inputs):
        return _evaluate_with_reference(spec, model, data_root, out_dir, limit, figures, command)
    items = list(itertools.islice(evaluation_regions(spec, data_root), limit))
    if stages:
        return evaluate_stages(task, model, items, out_dir, figures=figures, command=command)
    report = evaluate_items(task, model, items, out_dir, figures=figures, command=command)
    extra = kind_tables(report.regions)
    if spec.clean_passthrough:
        clean = evaluation_regions(spec, data_root)
        clean = itertools.islice(clean, limit) if limit else clean
        extra += passthrough_table(task, report.model, model, clean, out_dir)
    if spec.real_scene:
        extra += real_scene_check(task, spec, model, data_root, out_dir, figures=figures)
    extra += run_checks(task, model, items, data_root, out_dir, figures=figures, limit=limit, command=command)
    if extra:
        report.markdown += extra
        report.table_path.write_text(report.markdown)
    if spec.unlabelled:
        real = UNLABELLED_SOURCES[spec.unlabelled](data_root).get("test", [])
        if real:
            evaluate_unlabelled(task, model, real[:limit] if limit else real, out_dir, command=command,
                                figures=FIGURES_PER_SOURCE if figures else 0)  # fmt: skip
    return report


def spec_for_model(spec: TaskSpec, model: str | Path | None) -> TaskSpec:
    """``spec`` with the bands of ``model``'s card where the card takes other bands than the spec (a
    4-band dehaze model): its test regions are then drawn in those bands."""
    if model is None or len(spec.inputs) != 1:
        return spec
    bands = tuple(resolve_model(spec.task, model).card.inputs[0].bands)
    if bands == tuple(spec.inputs[0].bands):
        return spec
    return dataclasses.replace(spec, inputs=(dataclasses.replace(spec.inputs[0], bands=bands),),
                               output_bands=bands)


def _without_reference(items: Iterable[tuple[str, Degradation]]) -> list[tuple[str, Degradation]]:
    return [(name, dataclasses.replace(deg, inputs={r: a for r, a in deg.inputs.items() if r != "reference"}))
            for name, deg in items]  # fmt: skip


def _stripes_as_values(items: Iterable[tuple[str, Degradation]]) -> list[tuple[str, Degradation]]:
    """Single-date items whose gaps are written as 0 (no nodata) and come with no mask: what a
    model that estimates the mask must handle; the classical fills have nothing to fill."""
    out = []
    for name, deg in items:
        image = np.nan_to_num(deg.inputs["optical"], nan=0.0)
        out.append((name, dataclasses.replace(deg, inputs={"optical": image})))
    return out


def _evaluate_with_reference(spec, model: str | None, data_root: Path, out_dir: Path, limit: int | None,
                             figures: bool, command: str) -> EvalReport:  # fmt: skip
    """A model with an optional reference date: the same test regions single-date (``<task>.md``,
    the returned report), with a reference (``<task>_reference.md``) and with the gaps written as
    values and no mask (``<task>_nomask.md``), then the real SLC-off regions single-date and with a
    reference (``<task>_slcoff.md``, ``<task>_slcoff_reference.md``) when the data exist."""
    import itertools

    from .data.real_gaps import slc_off_regions
    from .data.recipes import evaluation_regions

    forced = dataclasses.replace(spec, synthesis={**spec.synthesis, "reference_probability": 1.0})
    regions = list(itertools.islice(evaluation_regions(forced, data_root), limit))
    task = spec.task
    report = evaluate_items(task, model, _without_reference(regions), out_dir, figures=figures,
                            command=command, title="single date")  # fmt: skip
    evaluate_items(task, model, regions, out_dir, figures=figures, command=command, suffix="_reference",
                   title="with a synthetic other date as reference")  # fmt: skip
    evaluate_items(task, model, _stripes_as_values(regions), out_dir, figures=figures, command=command,
                   suffix="_nomask", title="gaps written as 0 with no nodata and no mask: the model "
                   "must find them itself")  # fmt: skip
    real = list(itertools.islice(slc_off_regions(data_root), limit))
    if real:
        title = "real Landsat-7 SLC-off gaps"
        evaluate_items(task, model, _without_reference(real), out_dir, figures=figures, command=command,
                       suffix="_slcoff", title=f"{title}, single date")  # fmt: skip
        evaluate_items(task, model, real, out_dir, figures=figures, command=command,
                       suffix="_slcoff_reference", title=f"{title}, another real date as reference")
    return report
