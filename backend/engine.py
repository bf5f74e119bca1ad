"""The streaming tiled engine: read tiles, run the model in batches, blend, write finished cells.

The loop (``run_engine``) is I/O-agnostic: a ``TileSource`` turns tiles into batched model feeds, a
``Model`` maps a batch of feeds to outputs and a ``CellSink`` turns blended cells into raster values
and writes them. Progress is reported and cancellation checked between batches.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import numpy as np

from .blending import Blender, FinalCell
from .errors import CancelledError, RestoreError
from .model_card import Normalization, TensorSpec
from .normalization import NormStats, context_vector, denormalize, nodata_fill, normalize
from .raster_io import BLOCK_SIZE, RasterReader, RasterWriter
from .runtime import is_out_of_memory
from .tasks import VALIDITY_BAND
from .tiling import Tile, TileGrid

#: Column bands are about this wide (pixels): bounds memory and the GDAL cache for any raster width.
BAND_WIDTH = 4096


@dataclass
class Feed:
    """One model input: its tensor spec, where its pixels come from and its global statistics."""

    spec: TensorSpec
    reader: RasterReader | None = None  # None: the optical reader (primary) or zeros (optional input)
    stats: NormStats | None = None
    primary: bool = False


@dataclass
class TileData:
    tile: Tile
    raw: np.ndarray | None  # (bands, H, W) primary input, dropped once the batch feeds are built
    invalid: np.ndarray  # (H, W): input is nodata
    missing: np.ndarray  # (H, W): pixels a fill model reconstructs (invalid | explicit mask)
    skipped: bool


def scene_context(feed: Feed) -> np.ndarray:
    """A feed's scene context (K,) in model units; zeros for an optional input that is absent."""
    spec = feed.spec
    if feed.stats is None or not feed.stats.context:
        return np.zeros(spec.context.width(len(spec.bands)), dtype=np.float32)
    return context_vector(spec.normalization or Normalization(), feed.stats, len(spec.bands))


class TileSource:
    """Reads every input of a tile, normalises it and derives the nodata and fill masks."""

    def __init__(self, primary: RasterReader, feeds: list[Feed], mask: RasterReader | None = None,
                 fills: bool = False, region: np.ndarray | None = None) -> None:
        self.primary = primary
        self.feeds = feeds
        self.mask = mask
        self.fills = fills
        #: (H, W) bool of the pixels to restore (``backend.region``): a tile without one is skipped.
        self.region = region
        #: The hard mask is known everywhere (a MASK raster, or nodata the input declares); otherwise
        #: only where a pixel is missing (NaN), and a model may estimate the rest (``VALIDITY_BAND``).
        self.mask_known = mask is not None or primary.nodata is not None
        self._nodata_values: dict[str, np.ndarray] = {}  # per feed, (C, 1): computed once per run
        # Scene contexts (K,) by tensor name: statistics of the whole raster, the same for every tile.
        self._contexts = {feed.spec.context.name: scene_context(feed) for feed in feeds
                          if feed.spec.context is not None}

    def read(self, tile: Tile) -> TileData:
        """The tile's primary pixels and masks; a tile with nothing to compute is ``skipped``."""
        raw = self.primary.read(tile.y0, tile.x0, tile.height, tile.width)
        invalid = self.primary.invalid(raw)
        missing = invalid
        if self.mask is not None:
            missing = invalid | (self.mask.read(tile.y0, tile.x0, tile.height, tile.width)[0] != 0)
        skipped = bool(missing.all()) if self.fills else bool(invalid.all())
        if self.region is not None and not skipped:
            y0, x0 = max(tile.y0, 0), max(tile.x0, 0)
            skipped = not self.region[y0 : tile.y0 + tile.height, x0 : tile.x0 + tile.width].any()
        return TileData(tile, None if skipped else raw, invalid, missing, skipped)

    def read_batch(self, tiles: list[Tile]) -> tuple[list[TileData], dict[str, np.ndarray]]:
        """Read ``tiles`` and build the model feeds of the computed ones, already batched.

        Each tile is normalised straight into its slot of the (N, C, H, W) batch arrays: stacking
        per-tile arrays on the model's thread cost an extra copy of every batch there.
        """
        items = [self.read(tile) for tile in tiles]
        todo = [item for item in items if not item.skipped]
        feeds: dict[str, np.ndarray] = {}
        if todo:
            height, width = todo[0].tile.height, todo[0].tile.width
            for feed in self.feeds:
                batch = np.empty((len(todo), len(feed.spec.bands), height, width), dtype=np.float32)
                for slot, item in zip(batch, todo, strict=True):
                    self._feed(feed, item, slot)
                feeds[feed.spec.name] = batch
                if feed.spec.context is not None:
                    context = self._contexts[feed.spec.context.name]
                    feeds[feed.spec.context.name] = np.repeat(context[None], len(todo), axis=0)
            for item in todo:
                item.raw = None  # the batch holds what the model needs
        return items, feeds

    def _feed(self, feed: Feed, item: TileData, out: np.ndarray) -> None:
        """Write one tile's normalised input for ``feed`` into ``out`` (C, H, W) float32."""
        spec, tile = feed.spec, item.tile
        if out.shape[1:] != (tile.height, tile.width):
            raise RestoreError(f"tiles of one batch differ in size: {tile.height}x{tile.width} vs "
                               f"{out.shape[1]}x{out.shape[2]}")
        if spec.role == "mask":
            out[0] = item.missing
            if has_validity(spec):
                out[1] = 1.0 if self.mask_known else item.missing
            return
        if has_validity(spec):
            self._feed_with_validity(feed, item, out)
            return
        if feed.primary:
            data, bad = item.raw, item.missing
        elif feed.reader is not None:
            data = feed.reader.read(tile.y0, tile.x0, tile.height, tile.width)
            bad = feed.reader.invalid(data)
        else:
            out[...] = 0.0
            return
        norm = spec.normalization or Normalization()
        stats = feed.stats or NormStats((0.0,), (1.0,))
        normalize(data, norm, stats, out=out)
        if bad.any():
            # Nodata values (e.g. -9999) would bleed into neighbours through the receptive field.
            fill = self._nodata_values.get(spec.name)
            if fill is None:
                fill = nodata_fill(norm, stats, out.shape[0], has_mask=self.fills)[:, None]
                self._nodata_values[spec.name] = fill
            out[:, bad] = fill


    def _feed_with_validity(self, feed: Feed, item: TileData, out: np.ndarray) -> None:
        """An input whose last band is its validity plane: zeros where its pixels are unknown (nodata)
        and everywhere when the optional input is absent (``backend.tasks.VALIDITY_BAND``)."""
        if feed.reader is None and not feed.primary:
            out[...] = 0.0
            return
        tile = item.tile
        reader = self.primary if feed.primary else feed.reader
        data = item.raw if feed.primary else reader.read(tile.y0, tile.x0, tile.height, tile.width)
        bad = item.missing if feed.primary else reader.invalid(data)
        normalize(data, feed.spec.normalization or Normalization(), feed.stats or NormStats((0.0,), (1.0,)),
                  out=out[:-1])
        out[:-1, bad] = 0.0
        out[-1] = ~bad


def has_validity(spec: TensorSpec) -> bool:
    """True when the input's last band is the per-pixel validity plane the engine feeds."""
    return len(spec.bands) > 1 and spec.bands[-1] == VALIDITY_BAND


class CellSink:
    """Maps blended cells back to raster values, applies nodata and writes them (and the fill mask)."""

    def __init__(self, writer: RasterWriter, norm: Normalization, stats: NormStats,
                 out_range: tuple[float, float], nodata: float | None, fills: bool,
                 mask_writer: RasterWriter | None = None, model_mask: bool = False) -> None:
        self.writer = writer
        self.norm = norm
        self.stats = stats
        self.out_range = out_range
        self.nodata = nodata
        self.fills = fills
        self.mask_writer = mask_writer
        #: The cells' last channel is the model's own mask of what it reconstructed (``Model.mask``):
        #: the mask output is that (above 0.5) or the pixels that were missing.
        self.model_mask = model_mask
        self.stand_in = nodata_stand_in(nodata, writer.dtype)

    def write(self, cell: FinalCell, data: TileData) -> None:
        values, weight = cell.values, cell.weight
        empty = None
        if weight is not None:
            partial = (weight != 1.0) & (weight > 0.0)
            if partial.any():
                values[:, partial] /= weight[partial]  # the cell owns its values: in place is safe
            empty = weight <= 0.0
        estimated = None
        if self.model_mask:
            values, estimated = values[:-1], values[-1] > 0.5
        out = denormalize(values, self.norm, self.stats, self.out_range, self.writer.dtype)
        if self.stand_in is not None:  # a restored value equal to nodata would read back as a hole
            out[out == self.nodata] = self.stand_in
        if self.fills:
            nodata_px = empty if empty is not None else np.zeros(out.shape[1:], bool)
        else:
            nodata_px = data.invalid[cell.local] if empty is None else data.invalid[cell.local] | empty
        if nodata_px.any():
            fill = self.nodata if self.nodata is not None else (np.nan if out.dtype.kind == "f" else 0)
            out[:, nodata_px] = fill
        self.writer.write(cell.y0, cell.x0, out)
        if self.mask_writer is not None:
            filled = data.missing[cell.local]
            if estimated is not None:
                filled = filled | estimated
            if empty is not None:
                filled = filled & ~empty
            self.mask_writer.write(cell.y0, cell.x0, filled.astype(np.uint8)[None])


def nodata_stand_in(nodata: float | None, dtype: np.dtype) -> Any:
    """The value written for a valid pixel whose result equals ``nodata``: the next one inward.

    GDAL masks every pixel whose value equals the band's nodata, so a shadow a model darkens to 0 in
    a raster with nodata 0 would come back as a hole. ``None`` when no value can clash (no nodata,
    NaN, or a nodata the output dtype cannot hold).
    """
    if nodata is None or not np.isfinite(nodata):
        return None
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        value = dtype.type(nodata)
        return np.nextafter(value, dtype.type(np.inf if value <= 0 else -np.inf))
    info = np.iinfo(dtype)
    if not info.min <= nodata <= info.max:
        return None
    return dtype.type(nodata + 1 if nodata < info.max else nodata - 1)


@dataclass(frozen=True)
class Strength:
    """How much of the model's change to keep: ``input + amount * (output - input)``, per pixel.

    ``feed`` names the input the output is ``like`` (the same bands); its normalised values are
    mapped from ``in_range`` onto the model's ``out_range`` so both sides are in the same units.
    Amount 0 gives the input back, 1 the model's output; the map is linear, so applying it to each
    tile before the overlaps are blended is the same as applying it to the blended result.
    """

    feed: str
    amount: float
    in_range: tuple[float, float]
    out_range: tuple[float, float]

    def apply(self, output: np.ndarray, inputs: np.ndarray) -> np.ndarray:
        """Blend ``output`` (N, C, H, W) with ``inputs`` (the feed's batch) in place."""
        lo_r, hi_r = self.in_range
        lo_o, hi_o = self.out_range
        x = inputs  # only read below; mapped into a copy when the ranges differ
        if (lo_r, hi_r) != (lo_o, hi_o):
            x = inputs.astype(np.float32, copy=True)
            x -= np.float32(lo_r)
            x *= np.float32((hi_o - lo_o) / (hi_r - lo_r))
            x += np.float32(lo_o)
        output -= x
        output *= np.float32(self.amount)
        output += x
        return output


class Model:
    """Runs an ONNX Runtime session on batches; on GPU out-of-memory it halves the batch and retries.

    With a ``strength`` the outputs are blended with the input they restore (see :class:`Strength`).
    """

    def __init__(self, session: Any, output: str, batch_size: int, log: Callable[[str], None] | None = None,
                 strength: Strength | None = None, mask: str | None = None) -> None:
        self.session = session
        self.output = output
        #: A mask output (fill_gaps: the pixels the model reconstructed), appended as a last channel.
        self.mask = mask
        self.batch_size = max(1, batch_size)
        self.log = log
        self.strength = strength
        self.seconds = 0.0

    def __call__(self, batch: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Outputs, one (C, H, W) array per tile, of the (N, C, H, W) input arrays ``batch``."""
        results: list[np.ndarray] = []
        count = len(next(iter(batch.values())))
        start = 0
        while start < count:
            # Slices along N of C-contiguous arrays are contiguous views: no copy for the session.
            feeds = {name: array[start : start + self.batch_size] for name, array in batch.items()}
            chunk = len(next(iter(feeds.values())))
            began = time.perf_counter()
            try:
                if self.mask is None:
                    (out,) = self.session.run([self.output], feeds)
                else:
                    out, mask = self.session.run([self.output, self.mask], feeds)
                    out = np.concatenate([out, mask.astype(out.dtype, copy=False)], axis=1)
            except Exception as exc:
                if is_out_of_memory(exc) and self.batch_size > 1:
                    self.batch_size //= 2
                    if self.log:
                        self.log(f"out of GPU memory: batch size halved to {self.batch_size}")
                    continue
                if isinstance(exc, RestoreError):
                    raise
                raise RestoreError(f"the model failed on a batch of {chunk} tiles: {exc}") from None
            finally:
                self.seconds += time.perf_counter() - began
            if not np.isfinite(out).all():
                # Cast to an integer raster NaN becomes 0: an all-black result with exit code 0.
                overflow = [name for name, array in feeds.items() if not np.isfinite(array).all()]
                if overflow:  # raster values beyond float32 once normalised (e.g. 1e300 in a Float64)
                    raise RestoreError(
                        f"the raster's values do not fit the model's float32 input {overflow[0]!r} once "
                        "normalised (they overflow to infinity); rescale the raster first (e.g. to "
                        "reflectance or digital numbers)")
                raise RestoreError(
                    f"the model returned NaN or infinite values (output {self.output!r}) for finite "
                    "inputs: the model package is broken; re-export it or use another model")
            if self.strength is not None:  # never with a mask: gap filling takes no strength
                out = self.strength.apply(out.astype(np.float32, copy=False), feeds[self.strength.feed])
            results.extend(out[k] for k in range(out.shape[0]))
            start += chunk
        return results


@dataclass
class EngineStats:
    tiles: int = 0
    skipped_tiles: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


@contextmanager
def gdal_cache_limit(limit_bytes: int):
    """Cap GDAL's block cache during a run (the default, 5 % of RAM, would grow with the raster)."""
    from osgeo import gdal

    previous = gdal.GetCacheMax()
    gdal.SetCacheMax(int(min(previous, limit_bytes)) if previous > 0 else int(limit_bytes))
    try:
        yield
    finally:
        gdal.SetCacheMax(previous)


def cache_budget(grid: TileGrid, in_bytes: int, out_bytes: int) -> int:
    """GDAL cache for one column band: a tile row of input blocks and two rows of output blocks.

    ``in_bytes``/``out_bytes`` are bytes per pixel over all input/output bands. Partly written
    output blocks must stay in the cache until their neighbour cells complete them; a block flushed
    half-written is stored twice in a compressed GeoTIFF.
    """
    width = min(grid.cols.size, BAND_WIDTH * 3 // 2 + grid.cols.tile)
    per_column = (grid.rows.tile + 2 * BLOCK_SIZE) * in_bytes + 2 * BLOCK_SIZE * out_bytes
    return int(min(max(width * per_column * 1.1, 16 << 20), 512 << 20))


def run_engine(grid: TileGrid, source: TileSource, model: Model, sink: CellSink, channels: int,
               margin: int = 0, progress: Callable[[float], None] | None = None,
               cancel: Callable[[], bool] | None = None, cache_bytes: int | None = None) -> EngineStats:
    """Process every tile of ``grid``; raise ``CancelledError`` when ``cancel()`` turns true.

    Three stages overlap: a reader thread prepares the next batch while the model runs on this one,
    and a writer thread blends the model's tiles (in order: it is a single thread) and denormalises
    and writes finished cells, so the calling thread only feeds the model. Each GDAL dataset and
    the blender are only ever touched by one thread.
    """
    stats = EngineStats()
    timing = {"read": 0.0, "blend": 0.0, "write": 0.0}
    bands = grid.column_bands(BAND_WIDTH, align=BLOCK_SIZE)
    blender = Blender(grid, channels, margin, bands, track_weight=sink.fills)
    total = grid.count
    size = model.batch_size
    # Windows are made as the reader needs them: a list of every tile of a huge raster would not fit.
    tiles = grid.iter_tiles(BAND_WIDTH, align=BLOCK_SIZE)
    count = -(-total // size)
    began = time.perf_counter()

    def read_batch(batch: list[Tile]) -> tuple[list[TileData], dict[str, np.ndarray]]:
        t0 = time.perf_counter()
        result = source.read_batch(batch)
        timing["read"] += time.perf_counter() - t0
        return result

    def blend_and_write(item: TileData, result: np.ndarray | None) -> None:
        t0 = time.perf_counter()
        cell = blender.add(item.tile, result)
        t1 = time.perf_counter()
        timing["blend"] += t1 - t0
        if cell is not None:
            sink.write(cell, item)
            timing["write"] += time.perf_counter() - t1

    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="restore-read")
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="restore-write")
    pending: deque[Future[None]] = deque()
    try:
        with gdal_cache_limit(cache_bytes or cache_budget(grid, 8, 8)):
            upcoming = reader.submit(read_batch, list(islice(tiles, size))) if count else None
            for k in range(count):
                if cancel is not None and cancel():
                    raise CancelledError("cancelled by the user; no output was written")
                assert upcoming is not None
                items, feeds = upcoming.result()
                if k + 1 < count:
                    upcoming = reader.submit(read_batch, list(islice(tiles, size)))
                outputs = iter(model(feeds) if feeds else [])
                del feeds  # the inputs are not needed once the model ran
                for item in items:
                    result = None if item.skipped else next(outputs)
                    if result is not None and result.shape != (channels, item.tile.height, item.tile.width):
                        raise RestoreError(
                            f"the model returned shape {result.shape} for a {item.tile.height}x"
                            f"{item.tile.width} tile; expected {channels} channels of the same size")
                    pending.append(writer.submit(blend_and_write, item, result))
                    stats.tiles += 1
                    stats.skipped_tiles += item.skipped
                # Bound the tiles waiting for the writer: memory stays a few batches whatever the raster.
                while len(pending) > 2 * size:
                    pending.popleft().result()
                if progress is not None:
                    progress(min(1.0, (k + 1) * size / total) if k + 1 < count else 1.0)
            while pending:
                pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()
        reader.shutdown(wait=True, cancel_futures=True)
        writer.shutdown(wait=True, cancel_futures=True)
    timing["model"] = model.seconds
    timing["engine"] = time.perf_counter() - began
    stats.seconds = timing
    return stats
