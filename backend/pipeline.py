"""``restore(job)``: the one call the QGIS plugin, the CLI and training evaluation make.

It checks the request (task, roles, paths, bands, grids), resolves the model, computes global
normalisation statistics, opens a session on the requested device and runs the streaming engine.
The output appears only when the run succeeded; the provider that ran is returned and written into
the output's metadata.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .budget import check_budget, check_pixels, check_tile_size, estimate
from .engine import CellSink, Feed, Model, Strength, TileSource, cache_budget, has_validity, run_engine
from .errors import CancelledError, InputRasterError, InvalidOptionError, OutputRasterError
from .extent import Window, pixel_window
from .job import RestoreJob
from .model_card import ModelCard, Normalization, TensorSpec
from .normalization import NormStats, compute_stats, with_black_level
from .raster_io import (
    Grid,
    RasterReader,
    RasterWriter,
    copy_band_interpretation,
    open_raster,
    same_grid,
    warp_onto,
)
from .region import keep_outside, rasterize_region, region_extent
from .registry import ModelInfo, resolve_model
from .runtime import PROVIDERS, create_session, gpu_free_bytes, parse_device
from .tasks import ROLES, get_task
from .tiling import overlap_fits, plan_grid, round_up

CPU_BATCH = 4
GPU_MAX_BATCH = 64
#: The output is always a GeoTIFF: another extension would put GeoTIFF bytes under a wrong name.
OUTPUT_SUFFIXES = (".tif", ".tiff")
#: The longest file name (bytes) common file systems (ext4, NTFS, APFS) take.
MAX_NAME_BYTES = 255


@dataclass
class RestoreResult:
    """What ran and where the result is."""

    output: Path
    mask_output: Path | None
    model: str
    model_path: Path
    provider: str
    device: str
    tiles: int
    skipped_tiles: int
    seconds: dict[str, float] = field(default_factory=dict)
    #: A task that runs in stages: the stage results written apart (``RestoreJob.stage_outputs``)
    #: and the model that ran each stage.
    stage_outputs: dict[str, Path] = field(default_factory=dict)
    stage_models: dict[str, str] = field(default_factory=dict)


def _check_roles(task_id: str, inputs: Mapping[str, str | os.PathLike[str]], required: bool = True) -> None:
    """Every role is one the task takes and, with ``required``, every required role is there (one
    stage of a staged task takes only some of them)."""
    task = get_task(task_id)
    accepted = {slot.role for slot in task.inputs}
    for role in inputs:
        if role not in ROLES:
            raise InputRasterError(f"unknown input role {role!r}; roles are {', '.join(ROLES)}")
        if role not in accepted:
            raise InputRasterError(
                f"task {task_id!r} does not take a {role!r} input (it takes {', '.join(sorted(accepted))})")
    for slot in task.inputs:
        if required and slot.required and slot.role not in inputs:
            raise InputRasterError(f"task {task_id!r} needs an input raster for the {slot.role!r} role")


def _same_file(a: Path, b: Path) -> bool:
    """True when two paths name one file (also through a symlink or a hard link)."""
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _check_output(output: Path, inputs: Mapping[str, str | os.PathLike[str]], what: str = "output",
                  model: Path | None = None) -> None:
    """Refuse an output path that is an input, the model, a folder or anything but a regular file."""
    if len(os.fsencode(output.name)) > MAX_NAME_BYTES:
        raise OutputRasterError(f"the {what} file name is {len(os.fsencode(output.name))} bytes long, more "
                                f"than file systems allow ({MAX_NAME_BYTES}); choose a shorter name")
    try:
        _check_output_path(output, inputs, what, model)
    except OSError as exc:
        raise OutputRasterError(f"the {what} path {output} cannot be used ({exc.strerror or exc})") from None


def _check_output_path(output: Path, inputs: Mapping[str, str | os.PathLike[str]], what: str,
                       model: Path | None) -> None:
    for role, path in inputs.items():
        if _same_file(output, Path(path)):
            raise OutputRasterError(
                f"the {what} path {output} is the {role} input: choose another file name (inputs are never "
                "overwritten)")
    if model is not None and _same_file(output, model):
        raise OutputRasterError(f"the {what} path {output} is the model file in use: choose another "
                                "file name")
    if output.is_dir():
        raise OutputRasterError(f"the {what} path {output} is a folder; give a file name such as result.tif")
    if output.exists() and not output.is_file():
        raise OutputRasterError(
            f"the {what} path {output} exists and is not a regular file (a device, pipe or socket): it would "
            "be replaced; give a file name such as result.tif")
    if output.suffix.lower() not in OUTPUT_SUFFIXES:
        raise OutputRasterError(
            f"the {what} path {output} does not end in .tif or .tiff: the output is always a GeoTIFF, so "
            f"name it {output.with_suffix('.tif').name} (convert afterwards with gdal_translate if needed)")


def _tile_options(card: ModelCard, tile_size: int | None, overlap: int | None) -> tuple[int, int, int]:
    multiple = card.tile.multiple
    size = card.tile.default_size if tile_size is None else int(tile_size)
    if size < 1:
        raise InvalidOptionError(f"tile size must be positive, got {size}", options=("tile_size",))
    size = round_up(size, multiple)
    check_tile_size(size, "as asked" if tile_size is not None else f"the default of model {card.name!r}")
    lap = card.tile.overlap if overlap is None else int(overlap)
    if not overlap_fits(lap, size):
        raise InvalidOptionError(
            f"overlap {lap} must be >= 0 and less than half the tile size {size}; lower the overlap or raise "
            "the tile size", options=("overlap", "tile_size"))
    rf = card.tile.receptive_field
    margin = min(rf // 2, lap // 2) if rf else lap // 4
    return size, lap, margin


def _batch_size(requested: int | None, gpu: int | None, tile: int, channels: int) -> int:
    """Tiles per model call: ``requested``, else 4 on the CPU (``gpu`` None), else what fits GPU ``gpu``."""
    if requested is not None:
        if requested < 1:
            raise InvalidOptionError(f"batch size must be at least 1, got {requested}",
                                     options=("batch_size",))
        return int(requested)
    if gpu is None:
        return CPU_BATCH
    free = gpu_free_bytes(gpu)
    if free is None:
        return CPU_BATCH
    # Rough activation budget: 64 float32 feature maps per input channel per pixel, half the free memory.
    per_tile = tile * tile * max(channels, 1) * 4 * 64
    return int(max(1, min(GPU_MAX_BATCH, (free // 2) // per_tile)))


def _open_inputs(card: ModelCard, inputs: Mapping[str, str | os.PathLike[str]], optical: RasterReader,
                 resample: bool, whole: Grid, window: Window | None) -> dict[str, RasterReader]:  # fmt: skip
    """Readers of every input on the optical reader's grid: the whole raster's grid, or with an
    extent the same window of it."""
    readers: dict[str, RasterReader] = {"optical": optical}
    optical_path = inputs["optical"]
    reference = whole
    for role, path in inputs.items():
        if role == "optical":
            continue
        reader = RasterReader(path, role=role)
        if not same_grid(reader.grid, reference):
            if not resample:
                raise InputRasterError(
                    f"{path} ({role}) is not on the pixel grid of {optical_path}: size "
                    f"{reader.grid.width}x{reader.grid.height} vs {reference.width}x{reference.height}, or a "
                    "different geotransform/CRS; align it first or have it resampled onto that grid",
                    options=("resample",))
            reader = RasterReader(path, role=role, dataset=warp_onto(path, reference, nearest=role == "mask"))
        if window is not None:
            reader = RasterReader(path, role=role, dataset=reader.ds, window=window)
        readers[role] = reader
    for spec in card.inputs:
        reader = readers.get(spec.role)
        if reader is None or spec.role == "mask":
            continue
        expected = spec.bands[:-1] if has_validity(spec) else spec.bands  # the engine feeds validity
        if reader.count != len(expected):
            optical = spec.role == "optical"
            hint = f"; band {reader.alpha[0]} is flagged as alpha (transparency)" if reader.alpha else ""
            if optical:
                hint += "; pick the bands to restore"
            raise InputRasterError(
                f"{reader.path} has {reader.count} band(s) but model {card.name!r} expects {len(expected)} "
                f"for its {spec.role!r} input ({', '.join(expected)}){hint}",
                options=("bands",) if optical else ())
    if "mask" in readers and readers["mask"].count != 1:
        raise InputRasterError(f"{readers['mask'].path}: a mask raster must have one band (1 = missing)")
    return readers


def _feeds(card: ModelCard, readers: dict[str, RasterReader], log: Callable[[str], None],
           black_level: float = 0.0) -> list[Feed]:
    feeds = []
    for spec in card.inputs:
        reader = readers.get(spec.role)
        if spec.role == "mask":
            feeds.append(Feed(spec))
            continue
        if reader is None:
            if not spec.optional:
                raise InputRasterError(
                    f"model {card.name!r} needs an input raster for the {spec.role!r} role")
            log(f"no {spec.role} input given: model {card.name!r} runs without it (zeros)")
            feeds.append(Feed(spec))
            continue
        norm = spec.normalization or Normalization()
        stats = compute_stats(reader, norm, reader.nodata, context=spec.context)
        primary = spec.role == "optical"
        if norm.mode == "scale" and not (primary and black_level):
            _check_not_negative(reader, stats, card.name)
        if primary and black_level:
            try:
                stats = with_black_level(norm, stats, black_level)
            except InputRasterError as exc:  # the level is not below the raster's bright values
                raise InputRasterError(f"{reader.path}: {exc}", options=("black_level",)) from None
            except ValueError:  # the model's normalisation is not anchored at zero
                raise InvalidOptionError(
                    f"model {card.name!r} normalises its input by {norm.mode!r}, not from zero up "
                    "('scale'), so a black level does not apply; leave it at 0",
                    options=("black_level",)) from None
            log(f"black level {black_level:g} subtracted before the model and added back after it")
        feeds.append(Feed(spec, None if primary else reader, stats, primary=primary))
    return feeds


def _window(job: RestoreJob, whole: RasterReader, name: str) -> Window:
    """The pixels the job's extent and its region's bounding box both touch."""
    grid = whole.grid
    windows = []
    if job.extent is not None:
        windows.append(pixel_window(job.extent, grid.width, grid.height, grid.geotransform, grid.wkt, name))
    if job.region is not None:
        box = region_extent(str(job.region), grid.wkt)
        windows.append(pixel_window(box, grid.width, grid.height, grid.geotransform, grid.wkt, name))
    x0, y0 = max(w.x0 for w in windows), max(w.y0 for w in windows)
    x1, y1 = min(w.x0 + w.width for w in windows), min(w.y0 + w.height for w in windows)
    if x1 <= x0 or y1 <= y0:
        raise InvalidOptionError("the extent and the region do not overlap", options=("extent", "region"))
    return Window(x0, y0, x1 - x0, y1 - y0)


def _check_not_negative(reader: RasterReader, stats: NormStats, model: str) -> None:
    """Refuse a raster with many clearly negative values for a model normalised from zero up.

    Such a model's output starts at 0 (its range), so negative values come out as 0: an Int16
    raster centred near zero would be mostly black, with exit code 0. A few values just below zero
    (noise in surface reflectance) are fine: only a 1st percentile below -1 % of the bright
    percentile is refused.
    """
    if reader.dtype.kind == "u":
        return
    sample = reader.sample().reshape(reader.count, -1).astype(np.float64, copy=False)
    valid = np.isfinite(sample).all(axis=0)
    if reader.nodata is not None and np.isfinite(reader.nodata):
        valid &= (sample != reader.nodata).all(axis=0)
    values = sample[:, valid]
    if values.size == 0:
        return
    low = float(np.percentile(values, 1))
    bright = max(stats.high)
    if low < 0 and low < -0.01 * abs(bright):
        share = float((values < 0).mean())
        raise InputRasterError(
            f"{reader.path}: {share:.0%} of its valid values are below 0 (1st percentile {low:g}), but model "
            f"{model!r} normalises from zero up ('scale'), so they would all come out as 0; rescale the "
            "raster to non-negative values first (e.g. gdal_calc.py --calc \"A+OFFSET\")")


def _main_output(card: ModelCard) -> TensorSpec:
    spec = next((s for s in card.outputs if s.role != "mask"), None)
    if spec is None:
        raise InputRasterError(f"model {card.name!r} has no raster output")
    return spec


def _output_nodata(reader: RasterReader, dtype: np.dtype) -> float | None:
    nodata = reader.nodata
    if nodata is None:
        return None
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return nodata if float(nodata).is_integer() and info.min <= nodata <= info.max else None
    return nodata


def _stage_chain(task_id: str, given: ModelInfo, band_count: int) -> list[ModelInfo]:
    """The model of each stage of ``task_id``, in order: ``given`` for its own stage, the installed
    default of every other stage (the first stage's picked by the optical raster's ``band_count``)."""
    stages = get_task(task_id).stages
    return [given if stage == given.card.stage
            else resolve_model(task_id, None, band_count=band_count if k == 0 else None, stage=stage)
            for k, stage in enumerate(stages)]  # fmt: skip


def _stage_outputs(job: RestoreJob, stages: list[str]) -> dict[str, Path]:
    """The job's stage outputs, checked: a stage before the last, each its own regular .tif path."""
    wanted = {stage: Path(path) for stage, path in (job.stage_outputs or {}).items()}
    unknown = [stage for stage in wanted if stage not in stages[:-1]]
    if unknown:
        raise InvalidOptionError(
            f"task {job.task!r} has no stage {', '.join(map(repr, unknown))} whose result can be written "
            f"apart (its stages: {', '.join(stages)}; the last one writes the output)",
            options=("stage_outputs",))
    seen = [Path(job.output).resolve()]
    for stage, path in wanted.items():
        _check_output(path, job.inputs, f"{stage} output")
        if path.resolve() in seen:
            raise OutputRasterError(f"the {stage} output {path} is another output of the run too")
        seen.append(path.resolve())
    return wanted


def _remove_raster(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".aux.xml")):
        leftover.unlink(missing_ok=True)


def _restore_stages(job: RestoreJob, given: ModelInfo, band_count: int,
                    progress: Callable[[float], None] | None, cancel: Callable[[], bool] | None,
                    say: Callable[[str], None], began: float) -> RestoreResult:  # fmt: skip
    """Run the models of a staged task in series (docs/BACKEND.md, "Staged tasks").

    Each stage is one ``_restore`` of its model on the optical input (the first stage: the job's,
    with its bands and black level; later ones: the previous stage's result) plus the other inputs its
    card takes. A stage's result goes to its path in ``job.stage_outputs``, else to a temporary
    GeoTIFF in the output's folder, deleted at the end; the last stage writes the job's output.
    Progress is split evenly over the stages and ``cancel`` is checked by each. When any stage fails
    or is cancelled, every file the run wrote is removed: a run leaves all its outputs or none.
    """
    chain = _stage_chain(job.task, given, band_count)
    stages = [info.card.stage for info in chain]
    wanted = _stage_outputs(job, stages)
    taken = {spec.role for info in chain for spec in info.card.inputs}
    unused = [role for role in job.inputs if role not in taken]
    if unused:
        raise InputRasterError(f"no stage model of task {job.task!r} takes a {', '.join(unused)} input; "
                               "leave it out or pick other models")
    output = Path(job.output)
    say("stages: " + " -> ".join(f"{stage} ({info.name})" for stage, info in zip(stages, chain, strict=True)))
    written: list[Path] = []
    temporary: list[Path] = []
    results: list[RestoreResult] = []
    current = Path(job.inputs["optical"])
    try:
        for k, (stage, info) in enumerate(zip(stages, chain, strict=True)):
            if cancel is not None and cancel():
                raise CancelledError("cancelled")
            last = k == len(chain) - 1
            if last:
                target = output
            elif stage in wanted:
                target = wanted[stage]
            else:
                handle, name = tempfile.mkstemp(prefix=f".{output.stem}.{stage}-", suffix=".tif",
                                                dir=output.absolute().parent)  # fmt: skip
                os.close(handle)
                target = Path(name)
                temporary.append(target)
            roles = {spec.role for spec in info.card.inputs}
            inputs = {role: path for role, path in job.inputs.items() if role in roles and role != "optical"}
            inputs["optical"] = current
            first = k == 0
            sub = dataclasses.replace(
                job, inputs=inputs, output=target, model=info.path, stage_outputs=None,
                bands=job.bands if first else None, black_level=job.black_level if first else 0.0,
                strength=job.strength if last else 1.0)  # fmt: skip
            share = (lambda f, k=k: progress((k + f) / len(chain))) if progress is not None else None
            say(f"stage {k + 1}/{len(chain)}: {stage}")
            result = _restore(sub, share, cancel, say, info)
            if target not in temporary:
                written.append(result.output)
            results.append(result)
            current = result.output
    except BaseException:
        for path in written:
            _remove_raster(path)
        raise
    finally:
        for path in temporary:
            _remove_raster(path)
    final = results[-1]
    seconds = {f"{stage} {key}": value for stage, r in zip(stages, results, strict=True)
               for key, value in r.seconds.items()}  # fmt: skip
    seconds["total"] = time.perf_counter() - began
    return RestoreResult(
        output=final.output, mask_output=None, model=" -> ".join(info.name for info in chain),
        model_path=final.model_path, provider=final.provider, device=final.device,
        tiles=sum(r.tiles for r in results), skipped_tiles=sum(r.skipped_tiles for r in results),
        seconds=seconds, stage_outputs={stage: wanted[stage] for stage in wanted},
        stage_models={stage: info.name for stage, info in zip(stages, chain, strict=True)})


def restore(
    job: RestoreJob,
    *,
    progress: Callable[[float], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    log: Callable[[str], None] | None = None,
) -> RestoreResult:
    """Run ``job``: restore its inputs with a model of its task into its output (GeoTIFF).

    ``progress(fraction)`` is called after every batch, ``cancel()`` is checked before every batch
    (``True`` raises ``CancelledError``), ``log(message)`` receives what ran and how. The job's
    options are checked here (``RestoreJob`` says what each does). A model that is one stage of a
    task that runs in stages (``Task.stages``) runs with the other stages' models in series
    (``_restore_stages``).
    """
    return _restore(job, progress, cancel, log, None)


def _restore(job: RestoreJob, progress: Callable[[float], None] | None, cancel: Callable[[], bool] | None,
             log: Callable[[str], None] | None, stage_model: ModelInfo | None) -> RestoreResult:
    """``restore``; with ``stage_model``, run that one model of a staged task (one stage)."""
    task, inputs, bands = job.task, job.inputs, job.bands
    strength, black_level, device = job.strength, job.black_level, job.device
    if not 0.0 <= strength <= 1.0:
        raise InvalidOptionError(f"strength must be between 0 and 1, got {strength}", options=("strength",))
    if not np.isfinite(black_level):
        raise InvalidOptionError(f"black level must be a number, got {black_level}", options=("black_level",))
    if black_level < 0:
        raise InvalidOptionError(
            f"black level must be 0 or more, got {black_level:g}: it is the raster's value of black ground "
            "(Landsat 8/9 L1: 5000), and below 0 it would read every pixel as brighter than it is",
            options=("black_level",))
    began = time.perf_counter()
    say = log or (lambda message: None)
    _check_roles(task, inputs, required=stage_model is None)
    output = Path(job.output)
    _check_output(output, inputs)
    mask_path = Path(job.mask_output) if job.mask_output else None
    if mask_path is not None:
        _check_output(mask_path, inputs, "mask output")
        if mask_path.resolve() == output.resolve():
            raise OutputRasterError(f"the mask output {mask_path} cannot be the restored output too")
    for path in inputs.values():
        open_raster(path)  # missing file / not a raster: fail before loading a model
    whole = RasterReader(inputs["optical"], list(bands) if bands else None, role="optical")
    window = None
    optical = whole
    if job.extent is not None or job.region is not None:
        window = _window(job, whole, str(inputs["optical"]))
        optical = RasterReader(inputs["optical"], whole.bands, dataset=whole.ds, window=window)
        say(f"extent: columns {window.x0}..{window.x0 + window.width}, rows {window.y0}.."
            f"{window.y0 + window.height} ({window.width} x {window.height} of "
            f"{whole.width} x {whole.height})")
    region = None
    if job.region is not None:
        g = optical.grid
        region = rasterize_region(str(job.region), g.width, g.height, g.geotransform, g.wkt)
        say(f"region: {int(region.sum())} of {region.size} pixels inside its polygons")
    check_pixels(optical.width, optical.height, job.allow_large)  # before any pixel is read
    # A band flagged as alpha does not steer the choice of model unless the job's bands name it: an
    # RGBA photo is three bands of image, not blue, green, red and NIR.
    image_bands = optical.count if bands else optical.count - len(optical.alpha)
    info: ModelInfo = stage_model or resolve_model(task, job.model, band_count=image_bands, roles=inputs)
    if info.card.stage and stage_model is None:
        return _restore_stages(job, info, image_bands, progress, cancel, say, began)
    if job.stage_outputs and stage_model is None:
        raise InvalidOptionError(f"model {info.name!r} does the whole task in one step, so it has no stage "
                                 "results to write; leave the stage outputs out", options=("stage_outputs",))
    _check_output(output, inputs, model=info.path)
    if mask_path is not None:
        _check_output(mask_path, inputs, "mask output", model=info.path)
    card = info.card
    roles = {spec.role for spec in card.inputs}
    extra = [role for role in inputs if role not in roles]
    if extra:
        raise InputRasterError(f"model {info.name!r} takes no {', '.join(extra)} input; leave it out or pick "
                               "another model")
    readers = _open_inputs(card, inputs, optical, job.resample, whole.grid, window)
    fills = card.input("mask") is not None
    if mask_path is not None and not fills:
        raise InvalidOptionError(f"model {info.name!r} does not fill gaps, so it has no mask output",
                                 options=("mask_output",))
    size, lap, margin = _tile_options(card, job.tile_size, job.overlap)
    out_spec = _main_output(card)
    like = next((s for s in card.inputs if s.name == out_spec.like), card.inputs[0])
    feeds = _feeds(card, readers, say, black_level)
    like_feed = next(f for f in feeds if f.spec.name == like.name)
    like_stats = like_feed.stats or NormStats((0.0,), (1.0,))
    like_norm = like.normalization or Normalization()
    if region is not None and (fills or len(out_spec.bands) != len(like.bands)):
        raise InvalidOptionError(
            f"model {info.name!r} does not return an enhanced copy of its input, so pixels outside a region "
            "cannot keep the input's values; use an extent instead", options=("region",))
    blend = None
    if strength != 1.0:
        if fills or len(out_spec.bands) != len(like.bands):
            raise InvalidOptionError(
                f"model {info.name!r} does not return an enhanced copy of its input, so it takes no "
                "strength; leave it at 1", options=("strength",))
        blend = Strength(like.name, strength, like_norm.range, out_spec.range)

    threads = job.threads
    if threads is not None and threads < 1:
        raise InvalidOptionError(f"threads must be at least 1, got {threads}", options=("threads",))
    # The bytes the registry verified, never the path again: the file may change after the check.
    parsed = parse_device(device)
    session, provider = create_session(info.data if info.data is not None else info.path, parsed, threads)
    on_gpu = provider != PROVIDERS["cpu"]
    batch = _batch_size(job.batch_size, parsed.index if on_gpu else None, size,
                        sum(len(s.bands) for s in card.inputs))
    say(f"model {info.name} (bands {', '.join(card.inputs[0].bands)}) on {provider}; tiles {size}px, "
        f"overlap {lap}px, batch {batch}")

    grid = plan_grid(optical.grid.height, optical.grid.width, size, lap, card.tile.multiple)
    out_dtype = np.dtype(np.float32) if job.float_output else optical.dtype
    nodata = _output_nodata(optical, out_dtype)
    if nodata is None and out_dtype.kind == "f" and not fills:
        nodata = float("nan")
    metadata = {"RESTORE_TASK": task, "RESTORE_MODEL": info.name, "RESTORE_MODEL_VERSION": card.version,
                "RESTORE_PROVIDER": provider, "RESTORE_DEVICE": device}
    if black_level:
        metadata["RESTORE_BLACK_LEVEL"] = f"{black_level:g}"
    descriptions = list(out_spec.bands)
    channels = len(out_spec.bands)
    # The model's own mask of what it reconstructed (a model may estimate gaps no nodata marks).
    mask_spec = card.output("mask") if mask_path is not None else None
    engine_channels = channels + (mask_spec is not None)
    in_bytes = sum(r.block_bytes_per_pixel for r in readers.values())
    out_bytes = channels * out_dtype.itemsize + (1 if mask_path is not None else 0)
    cache_bytes = cache_budget(grid, in_bytes, out_bytes)
    need = estimate(grid, batch, sum(len(s.bands) for s in card.inputs), channels, out_bytes, cache_bytes,
                    network_on_device=on_gpu)
    check_budget(need, output.absolute().parent, job.allow_large)
    writer = RasterWriter(output, optical.grid, channels, out_dtype, nodata, descriptions, metadata)
    mask_writer = None
    try:
        if mask_path is not None:
            mask_writer = RasterWriter(mask_path, optical.grid, 1, np.uint8, None, ["reconstructed"],
                                       metadata)
        source = TileSource(optical, feeds, readers.get("mask"), fills, region)
        sink = CellSink(writer, like_norm, like_stats, out_spec.range, nodata, fills, mask_writer,
                        model_mask=mask_spec is not None)
        engine_model = Model(session, out_spec.name, batch, say, blend,
                             mask=mask_spec.name if mask_spec is not None else None)
        stats = run_engine(grid, source, engine_model, sink, engine_channels, margin, progress, cancel,
                           cache_bytes)
        if region is not None:
            keep_outside(writer, optical, region)
        final = writer.commit()
        final_mask = mask_writer.commit() if mask_writer is not None else None
    except BaseException:
        writer.abort()
        if mask_writer is not None:
            mask_writer.abort()
        raise
    try:  # cosmetic: the output opens as the same kind of image (RGB) with the input's band names
        copy_band_interpretation(job.inputs["optical"], job.bands, final)
    except RuntimeError as exc:  # a GDAL error here must not fail a finished run
        say(f"the input's colour interpretation was not kept ({exc})")
    seconds = dict(stats.seconds)
    seconds["total"] = time.perf_counter() - began
    return RestoreResult(output=final, mask_output=final_mask, model=info.name, model_path=info.path,
                         provider=provider, device=device, tiles=stats.tiles,
                         skipped_tiles=stats.skipped_tiles, seconds=seconds)
