"""Readers for the imagery under ``../shared/data``: GeoTIFF/netCDF scenes, photos and paired photos.

Everything comes back as float32 (C, H, W) with nodata as NaN, so callers handle one layout.
GDAL reads every format here (GeoTIFF, netCDF, JPEG, PNG), so there is one code path.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from osgeo import gdal

from backend.errors import InputRasterError

gdal.UseExceptions()

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp")


def as_unit(array: np.ndarray) -> np.ndarray:
    """uint8 photo values -> float32 in [0, 1]; float arrays pass through."""
    if array.dtype == np.uint8:
        return array.astype(np.float32) / np.float32(255.0)
    return array.astype(np.float32, copy=False)


def read_raster(path: str | Path, bands: Sequence[int] | None = None) -> np.ndarray:
    """Bands (1-based, default all) of the raster at ``path`` as float32 (C, H, W), nodata -> NaN."""
    try:
        dataset = gdal.Open(str(path))
    except RuntimeError as exc:
        raise InputRasterError(f"cannot read raster {path}: {exc}") from None
    indices = list(bands) if bands else list(range(1, dataset.RasterCount + 1))
    out = np.empty((len(indices), dataset.RasterYSize, dataset.RasterXSize), dtype=np.float32)
    for i, index in enumerate(indices):
        if not 1 <= index <= dataset.RasterCount:
            raise InputRasterError(f"{path} has {dataset.RasterCount} bands, no band {index}")
        band = dataset.GetRasterBand(index)
        out[i] = band.ReadAsArray().astype(np.float32)
        nodata = band.GetNoDataValue()
        if nodata is not None:
            out[i][out[i] == np.float32(nodata)] = np.nan
    return out


def read_stack(sources: Sequence[tuple[str | Path, int]], *, resample: bool = False) -> np.ndarray:
    """Stack single bands from several files, e.g. Sentinel-2 ``s2_B04.tif``, ``s2_B03.tif``, ...

    All files must share one grid; a mismatch raises ``InputRasterError`` naming the file. With
    ``resample`` the bands of one footprint at coarser resolutions (Sentinel-2's 20 m and 60 m
    bands) are resampled bilinearly onto the finest band's grid instead.
    """
    if resample:
        sizes = [_size(path) for path, _ in sources]
        width, height = max(sizes)
        arrays = [read_raster(path, [band]) if size == (width, height)
                  else _read_resampled(path, band, width, height)
                  for (path, band), size in zip(sources, sizes, strict=True)]  # fmt: skip
    else:
        arrays = [read_raster(path, [band]) for path, band in sources]
    shape = arrays[0].shape[1:]
    for (path, _), array in zip(sources, arrays, strict=True):
        if array.shape[1:] != shape:
            raise InputRasterError(f"{path} is {array.shape[1:]}, the stack is {shape}")
    return np.concatenate(arrays, axis=0)


def _size(path: str | Path) -> tuple[int, int]:
    try:
        dataset = gdal.Open(str(path))
    except RuntimeError as exc:
        raise InputRasterError(f"cannot read raster {path}: {exc}") from None
    return dataset.RasterXSize, dataset.RasterYSize


def _read_resampled(path: str | Path, band: int, width: int, height: int) -> np.ndarray:
    """One band of ``path`` resampled bilinearly to ``width`` x ``height`` over the same footprint."""
    try:
        dataset = gdal.Translate("", str(path), format="MEM", bandList=[band], width=width, height=height,
                                 resampleAlg="bilinear")  # fmt: skip
    except RuntimeError as exc:
        raise InputRasterError(f"cannot resample raster {path}: {exc}") from None
    out = dataset.GetRasterBand(1).ReadAsArray().astype(np.float32)[None]
    nodata = dataset.GetRasterBand(1).GetNoDataValue()
    if nodata is not None:
        out[out == np.float32(nodata)] = np.nan
    return out


def read_side_by_side(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """A pair stored as one image, clean left half and degraded right half -> (clean, degraded)."""
    image = read_raster(path)
    half = image.shape[2] // 2
    return image[:, :, :half], image[:, :, half : 2 * half]


def list_images(folder: str | Path) -> list[Path]:
    """Image files directly in ``folder``, sorted by name (pairs match by name across folders)."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def paired_folders(*folders: str | Path) -> list[tuple[Path, ...]]:
    """Files with the same stem in every folder (e.g. ``Vis/input``, ``Vis/target``, ``Inf/input``)."""
    by_stem = [{p.stem: p for p in list_images(f)} for f in folders]
    common = sorted(set(by_stem[0]).intersection(*by_stem[1:]))
    return [tuple(d[stem] for d in by_stem) for stem in common]
