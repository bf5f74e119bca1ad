"""GDAL raster reading and writing for the engine: windows with reflect padding, grids, safe outputs.

Inputs are read window by window (never whole); outputs are created under a temporary name in the
destination folder and renamed only when complete, so a failed or cancelled run leaves nothing that
looks like a result.
"""

from __future__ import annotations

import errno
import math
import os
import shutil
import uuid
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from osgeo import gdal, gdal_array

from .errors import InputRasterError, OutputRasterError
from .extent import Window
from .tiling import reflect_indices

gdal.UseExceptions()

#: Rasters up to this many pixels are read whole for statistics; larger ones are sampled.
STATS_SAMPLE_PIXELS = 1024 * 1024
#: Sampling lattice for large rasters without overviews: 16 windows of 256 x 256 (1 Mpx) spread evenly.
SAMPLE_WINDOWS = 16
SAMPLE_WINDOW = 256
BLOCK_SIZE = 256


@dataclass(frozen=True)
class Grid:
    """A pixel grid: size, geotransform and CRS (WKT)."""

    width: int
    height: int
    geotransform: tuple[float, ...]
    wkt: str


class RasterReader:
    """Reads windows of selected bands of one raster; windows past the edges are mirror-reflected."""

    def __init__(self, path: str | os.PathLike[str], bands: list[int] | None = None,
                 role: str = "optical", dataset: Any = None, window: Window | None = None) -> None:
        self.path = Path(path)
        self.role = role
        self.ds = dataset if dataset is not None else open_raster(path)
        #: With a window (``backend.extent``) the reader shows only that part of the raster: its grid
        #: is the window's, yet reads past the window's edges see the raster's real pixels (a tile's
        #: halo gets the same context as in a run over the whole raster) and ``sample`` is the whole
        #: raster's, so the normalisation statistics do not depend on the window.
        self.window = window
        count = self.ds.RasterCount
        self.bands = list(bands) if bands else list(range(1, count + 1))
        bad = [b for b in self.bands if not 1 <= b <= count]
        if bad:
            raise InputRasterError(f"{self.path}: band(s) {bad} do not exist (the raster has {count} bands)")
        #: Selected bands flagged as alpha (transparency). Only a hint: GDAL flags the 4th band of
        #: any 4-band Byte GeoTIFF written with default options as alpha, NIR or not.
        self.alpha = [b for b in self.bands
                      if self.ds.GetRasterBand(b).GetColorInterpretation() == gdal.GCI_AlphaBand]
        first = self.ds.GetRasterBand(self.bands[0])
        if gdal.DataTypeIsComplex(first.DataType):
            raise InputRasterError(
                f"{self.path} holds complex values ({gdal.GetDataTypeName(first.DataType)}), which cannot "
                "be restored: convert it to amplitude or intensity first (e.g. gdal_calc.py --calc "
                "\"abs(A)\" or gdal_translate with a VRT pixel function)")
        self.dtype = np.dtype(gdal_array.GDALTypeCodeToNumericTypeCode(first.DataType) or np.float64)
        self.nodata = first.GetNoDataValue()
        self.descriptions = [self.ds.GetRasterBand(b).GetDescription() for b in self.bands]

    @property
    def count(self) -> int:
        return len(self.bands)

    @property
    def width(self) -> int:
        return self.window.width if self.window else self.ds.RasterXSize

    @property
    def height(self) -> int:
        return self.window.height if self.window else self.ds.RasterYSize

    @cached_property
    def grid(self) -> Grid:
        """The dataset's grid, built once: ``GetProjection`` exports WKT through PROJ (milliseconds)."""
        gt = self.ds.GetGeoTransform(can_return_null=True) or (0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
        if self.window is not None:
            x, y = self.window.x0, self.window.y0
            gt = (gt[0] + x * gt[1] + y * gt[2], gt[1], gt[2], gt[3] + x * gt[4] + y * gt[5], gt[4], gt[5])
        return Grid(self.width, self.height, tuple(gt), self.ds.GetProjection() or "")

    @property
    def block_bytes_per_pixel(self) -> int:
        return self.count * self.dtype.itemsize

    def read(self, y0: int, x0: int, height: int, width: int) -> np.ndarray:
        """The (bands, height, width) window at raster (y0, x0), reflected where it leaves the raster."""
        if self.window is not None:
            y0, x0 = y0 + self.window.y0, x0 + self.window.x0
        return self._read_dataset(y0, x0, height, width)

    def _read_dataset(self, y0: int, x0: int, height: int, width: int) -> np.ndarray:
        rows = reflect_indices(y0, height, self.ds.RasterYSize)
        cols = reflect_indices(x0, width, self.ds.RasterXSize)
        r0, r1 = int(rows.min()), int(rows.max()) + 1
        c0, c1 = int(cols.min()), int(cols.max()) + 1
        try:
            data = self.ds.ReadAsArray(c0, r0, c1 - c0, r1 - r0, band_list=self.bands)
        except RuntimeError as exc:
            raise InputRasterError(f"{self.path}: reading pixels failed ({exc})") from None
        data = data.reshape(self.count, r1 - r0, c1 - c0)
        if r1 - r0 != height or not np.array_equal(rows, np.arange(r0, r1)):
            data = data[:, rows - r0]
        if c1 - c0 != width or not np.array_equal(cols, np.arange(c0, c1)):
            data = data[:, :, cols - c0]
        return data

    def invalid(self, data: np.ndarray) -> np.ndarray:
        """(H, W) True where every band is nodata, or where any band is not finite (NaN, inf).

        A non-finite value in one band cannot be normalised: fed to the model it would turn every
        output pixel its receptive field reaches into NaN. Such a pixel is treated as nodata in all
        bands (filled before the model, written as nodata; gap filling reconstructs it).
        """
        bad = np.zeros(data.shape[1:], dtype=bool)
        if np.issubdtype(data.dtype, np.floating):
            bad |= ~np.isfinite(data).all(axis=0)
        nodata = self.nodata
        if nodata is not None and not math.isnan(nodata) and _representable(nodata, self.dtype):
            bad |= (data == self.dtype.type(nodata)).all(axis=0)
        return bad

    def sample(self) -> np.ndarray:
        """A (bands, N) sample of the whole raster (a window's too) for global statistics.

        Small rasters are read whole; larger ones use the smallest overview with at least 256 px on
        a side, else a regular lattice of ``SAMPLE_WINDOWS`` windows.
        """
        width, height = self.ds.RasterXSize, self.ds.RasterYSize
        if width * height <= STATS_SAMPLE_PIXELS:
            return self._read_dataset(0, 0, height, width).reshape(self.count, -1)
        overview = self._overview_sample()
        if overview is not None:
            return overview
        side = int(math.ceil(math.sqrt(SAMPLE_WINDOWS)))
        win_h, win_w = min(SAMPLE_WINDOW, height), min(SAMPLE_WINDOW, width)
        parts = []
        for gy in range(side):
            for gx in range(side):
                y = int((height - win_h) * (gy + 0.5) / side)
                x = int((width - win_w) * (gx + 0.5) / side)
                parts.append(self._read_dataset(y, x, win_h, win_w).reshape(self.count, -1))
        return np.concatenate(parts, axis=1)

    def _overview_sample(self) -> np.ndarray | None:
        first = self.ds.GetRasterBand(self.bands[0])
        choices = []
        for k in range(first.GetOverviewCount()):
            ov = first.GetOverview(k)
            if min(ov.XSize, ov.YSize) >= SAMPLE_WINDOW:
                choices.append((ov.XSize * ov.YSize, k))
        if not choices:
            return None
        _, k = min(choices)
        arrays = [self.ds.GetRasterBand(b).GetOverview(k).ReadAsArray().reshape(-1) for b in self.bands]
        return np.stack(arrays)


def _representable(value: float, dtype: np.dtype) -> bool:
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return float(value).is_integer() and info.min <= value <= info.max
    return True


def open_raster(path: str | os.PathLike[str]) -> Any:
    """Open a raster read-only; a missing file or a non-raster is an ``InputRasterError`` naming it."""
    path = Path(path)
    try:
        exists, folder = path.exists(), path.is_dir()
    except OSError as exc:  # a name too long, a permission denied on the way
        raise InputRasterError(f"input raster {path} cannot be opened ({exc.strerror or exc})") from None
    if not exists:
        raise InputRasterError(f"input raster {path} does not exist; check the path")
    if folder and not str(path).lower().endswith((".zarr", ".gdb")):
        raise InputRasterError(f"input raster {path} is a folder, not a raster file")
    try:
        ds = gdal.OpenEx(str(path), gdal.OF_RASTER | gdal.OF_READONLY)
    except RuntimeError as exc:
        raise InputRasterError(f"{path} is not a raster GDAL can read ({exc})") from None
    if ds is None or ds.RasterCount == 0:
        raise InputRasterError(f"{path} is not a raster GDAL can read (no raster bands)")
    return ds


def same_grid(a: Grid, b: Grid, tolerance: float = 1e-6) -> bool:
    """True when two grids have the same size, geotransform (to a fraction of a pixel) and CRS."""
    if (a.width, a.height) != (b.width, b.height):
        return False
    pixel = max(abs(a.geotransform[1]), abs(a.geotransform[5]), 1e-12)
    if any(abs(x - y) > tolerance * pixel for x, y in zip(a.geotransform, b.geotransform, strict=True)):
        return False
    if bool(a.wkt) != bool(b.wkt):
        return False
    if a.wkt and b.wkt:
        from osgeo import osr

        sa, sb = osr.SpatialReference(wkt=a.wkt), osr.SpatialReference(wkt=b.wkt)
        return bool(sa.IsSame(sb))
    return True


def warp_onto(path: str | os.PathLike[str], grid: Grid, nearest: bool = False) -> Any:
    """A virtual (streaming) dataset of ``path`` resampled onto ``grid``."""
    src = open_raster(path)
    gt = grid.geotransform
    bounds = (gt[0], gt[3] + gt[5] * grid.height, gt[0] + gt[1] * grid.width, gt[3])
    try:
        return gdal.Warp("", src, format="VRT", outputBounds=bounds, width=grid.width, height=grid.height,
                         dstSRS=grid.wkt or None, resampleAlg="near" if nearest else "bilinear")
    except RuntimeError as exc:
        raise InputRasterError(f"{path}: cannot resample onto the first input's grid ({exc})") from None


def compression() -> str:
    """ZSTD when this GDAL's GeoTIFF driver has it, else DEFLATE."""
    options = gdal.GetDriverByName("GTiff").GetMetadataItem("DMD_CREATIONOPTIONLIST") or ""
    return "ZSTD" if "ZSTD" in options else "DEFLATE"


def creation_options(dtype: Any) -> list[str]:
    """Tiled, compressed GeoTIFF options; the benchmark gives gdal_translate the same list.

    ZSTD level 1 writes about 3x faster than its default level 9 for ~10 % more bytes (measured on
    the benchmark's uint16 scene), which matters when the writer runs beside the model.
    """
    predictor = "3" if np.issubdtype(np.dtype(dtype), np.floating) else "2"
    method = compression()
    level = "ZSTD_LEVEL=1" if method == "ZSTD" else "ZLEVEL=3"
    return ["TILED=YES", f"BLOCKXSIZE={BLOCK_SIZE}", f"BLOCKYSIZE={BLOCK_SIZE}", f"COMPRESS={method}", level,
            f"PREDICTOR={predictor}", "BIGTIFF=IF_SAFER", "NUM_THREADS=ALL_CPUS"]


#: Below this much free space a failed write is reported as a full disk.
FULL_DISK_BYTES = 16 << 20


def output_failure(action: str, path: Path, exc: BaseException) -> OutputRasterError:
    """The user's error for a failed output write: says "disk full" with the free space when it is.

    GDAL reports a full disk as a generic write error ("No space left on device", "Free disk space
    available is ..."), sometimes only when the file is closed; the free space of the folder decides.
    """
    text = str(exc)
    folder = path.absolute().parent
    try:
        free: int | None = shutil.disk_usage(folder).free
    except OSError:
        free = None
    full = (getattr(exc, "errno", None) in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
            or "no space left" in text.lower() or "disk space" in text.lower()
            or (free is not None and free < FULL_DISK_BYTES))
    if full:
        left = f"{free / 2**20:.1f} MiB free" if free is not None else "no space left"
        return OutputRasterError(f"{action} {path} failed: the disk is full ({folder}: {left}); free some "
                                 "space or write the output elsewhere (the partial file was deleted)")
    return OutputRasterError(f"{action} {path} failed ({text}); check the folder is writable")


def _remove_sidecar(path: Path) -> None:
    """Delete a previous output's ``.aux.xml`` (stale statistics); none can exist for a name that
    is already at the file-name length limit."""
    try:
        Path(str(path) + ".aux.xml").unlink(missing_ok=True)
    except OSError as exc:
        if exc.errno != errno.ENAMETOOLONG:
            raise


#: Temporary outputs are ``.restore-HOST-PID-RANDOM.part.tif`` in the destination folder.
PART_PREFIX, PART_SUFFIX = ".restore-", ".part.tif"


def _host_tag() -> str:
    import hashlib
    import socket

    return hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:6]


def remove_stale_parts(folder: Path) -> list[Path]:
    """Delete temporary outputs in ``folder`` left by runs of this host that were killed (SIGKILL,
    power loss): their process no longer exists. Runs of other hosts (a shared folder) are left alone."""
    removed = []
    prefix = f"{PART_PREFIX}{_host_tag()}-"
    try:
        candidates = [p for p in folder.iterdir()
                      if p.name.startswith(prefix) and p.name.endswith(PART_SUFFIX)]
    except OSError:
        return removed
    for path in candidates:
        try:
            pid = int(path.name[len(prefix):].split("-", 1)[0])
        except ValueError:
            continue
        if pid == os.getpid() or _alive(pid):
            continue
        try:
            path.unlink()
            Path(str(path) + ".aux.xml").unlink(missing_ok=True)
            removed.append(path)
        except OSError:
            continue
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, owned by someone else (or cannot tell: keep the file)
    return True


class RasterWriter:
    """A GeoTIFF written under a temporary name beside ``path``; ``commit`` renames it into place."""

    def __init__(self, path: str | os.PathLike[str], grid: Grid, bands: int, dtype: Any,
                 nodata: float | None = None, descriptions: list[str] | None = None,
                 metadata: dict[str, str] | None = None) -> None:
        self.path = Path(path)
        self.dtype = np.dtype(dtype)
        folder = self.path.parent
        if not folder.is_dir():
            raise OutputRasterError(f"output folder {folder} does not exist; create it first")
        remove_stale_parts(folder)
        # Short and independent of the output's name: a legal 250-character name stays legal.
        self.temp = folder / f"{PART_PREFIX}{_host_tag()}-{os.getpid()}-{uuid.uuid4().hex[:8]}{PART_SUFFIX}"
        gdal_type = gdal_array.NumericTypeCodeToGDALTypeCode(self.dtype)
        try:
            self.ds = gdal.GetDriverByName("GTiff").Create(
                str(self.temp), grid.width, grid.height, bands, gdal_type, creation_options(self.dtype))
        except RuntimeError as exc:
            raise output_failure("creating", self.path, exc) from None
        self.ds.SetGeoTransform(grid.geotransform)
        if grid.wkt:
            self.ds.SetProjection(grid.wkt)
        for b in range(bands):
            band = self.ds.GetRasterBand(b + 1)
            if nodata is not None:
                band.SetNoDataValue(float(nodata))
            if descriptions and b < len(descriptions) and descriptions[b]:
                band.SetDescription(descriptions[b])
        if metadata:
            self.ds.SetMetadata({k: str(v) for k, v in metadata.items()})

    def write(self, y0: int, x0: int, array: np.ndarray) -> None:
        """Write a (bands, h, w) block at raster (y0, x0)."""
        try:
            self._write_array(np.ascontiguousarray(array, dtype=self.dtype), x0, y0)
        except (RuntimeError, OSError) as exc:
            raise output_failure("writing", self.path, exc) from None

    def _write_array(self, array: np.ndarray, x0: int, y0: int) -> None:
        self.ds.WriteArray(array, xoff=x0, yoff=y0)

    def set_metadata(self, metadata: dict[str, str]) -> None:
        current = self.ds.GetMetadata() or {}
        current.update({k: str(v) for k, v in metadata.items()})
        self.ds.SetMetadata(current)

    def commit(self) -> Path:
        """Flush, close and rename the temporary file to the final name."""
        try:
            self.ds.FlushCache()
            self.ds = None
            _remove_sidecar(self.path)
            os.replace(self.temp, self.path)
        except (RuntimeError, OSError) as exc:
            self.abort()
            raise output_failure("finishing", self.path, exc) from None
        return self.path

    def abort(self) -> None:
        """Close and delete the temporary file (safe to call twice)."""
        self.ds = None
        for leftover in (self.temp, Path(str(self.temp) + ".aux.xml")):
            leftover.unlink(missing_ok=True)


#: Model band names that mean a colour channel, for outputs of inputs without a colour interpretation.
COLOUR_OF_BAND_NAME = {"red": gdal.GCI_RedBand, "green": gdal.GCI_GreenBand, "blue": gdal.GCI_BlueBand}


def copy_band_interpretation(source: str | os.PathLike[str], bands: list[int] | None,
                             target: str | os.PathLike[str]) -> None:
    """Give ``target``'s bands the colour interpretation and description of the ``source`` bands they
    restore (output band ``j`` is source band ``bands[j-1]``; ``None``: the same numbers).

    A source band without a colour meaning (gray, undefined) takes it from the output band's own
    description (the model's band name: red, green, blue); alpha is never copied (the data is no mask).
    Empty source descriptions keep the output's. Written into the GeoTIFF itself (PHOTOMETRIC=RGB for
    red, green, blue), without an ``.aux.xml``. Does nothing when the band counts do not match.
    """
    src = gdal.Open(str(source))
    dst = gdal.Open(str(target), gdal.GA_Update)
    if src is None or dst is None:
        return
    chosen = list(bands) if bands else list(range(1, src.RasterCount + 1))
    if len(chosen) != dst.RasterCount or max(chosen) > src.RasterCount:
        return
    meaningless = {gdal.GCI_Undefined, gdal.GCI_GrayIndex, gdal.GCI_AlphaBand}
    for j, b in enumerate(chosen, start=1):
        in_band, out_band = src.GetRasterBand(b), dst.GetRasterBand(j)
        interp = in_band.GetColorInterpretation()
        if interp in meaningless:
            interp = COLOUR_OF_BAND_NAME.get(out_band.GetDescription().strip().lower(), gdal.GCI_Undefined)
        if interp not in meaningless and interp != out_band.GetColorInterpretation():
            out_band.SetColorInterpretation(interp)
        if in_band.GetDescription():
            out_band.SetDescription(in_band.GetDescription())
    dst.FlushCache()
    dst = None
