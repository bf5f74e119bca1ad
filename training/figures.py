"""``python -m training figures``: example degradations of a real clean scene, one PNG per kind.

Each figure shows the clean crop, three draws of the synthesis (seeds 0-2 after ``--seed``) and
the spatial parameter of the first draw (transmission, cloud cover, gap mask, streaks).
Writes ``docs/figures/synthesis_<kind>.png``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .data.pairs import load_roadscene_rain
from .data.scenes import CLEAN_SCENES, load_scene
from .readers import as_unit
from .synthesis import SYNTHESES

RGB = ("red", "green", "blue")
#: (scene, row, col) of the 256 px crop shown for the scene-based kinds: coastal Virginia, Sentinel-2.
CROP = ("sentinel2_virginia", 900, 700, 256)
_MAPS = {"haze": "transmission", "rs_haze": "transmission", "dust": "transmission", "clouds": "cover",
         "night_rain": "streaks"}


def _clean_inputs(kind: str, root: Path) -> tuple[dict[str, np.ndarray], str]:
    if kind == "night_rain":
        pair = load_roadscene_rain(root)["test"][0]
        return {"optical": as_unit(pair.target), "infrared": as_unit(pair.inputs["infrared"])}, pair.name
    name, y0, x0, size = CROP
    source = next(s for s in CLEAN_SCENES if s.name == name)
    scene = load_scene(source, root)
    return {
        "optical": scene.image[:, y0 : y0 + size, x0 : x0 + size]
    }, f"{name} rows {y0}+{size} cols {x0}+{size}"


def _show(ax, image: np.ndarray, title: str) -> None:
    if image.shape[0] >= 3:
        ax.imshow(np.clip(np.moveaxis(np.nan_to_num(image[:3], nan=0.0), 0, -1), 0, 1))
    else:
        ax.imshow(image[0], cmap="viridis")
    ax.set_title(title, fontsize=8)
    ax.axis("off")


def synthesis_figure(kind: str, root: Path, out: Path, seed: int = 0) -> Path:
    """The figure of one synthesis kind."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    entry = SYNTHESES[kind]
    config = entry.make_config(root)
    clean, where = _clean_inputs(kind, root)
    draws = [entry.synth(clean, np.random.default_rng(seed + i), config, RGB) for i in range(3)]
    fig, axes = plt.subplots(1, 5, figsize=(13, 3))
    if kind == "night_rain":  # show the night images brightened, or they are black
        gain = 1.0 / max(float(np.percentile(draws[0].inputs["optical"], 99)), 1e-3)
        _show(axes[0], clean["optical"], "clean (day)")
        for ax, (i, d) in zip(axes[1:4], enumerate(draws), strict=True):
            _show(ax, d.inputs["optical"] * gain, f"draw {i} (x{gain:.1f} for display)")
    else:
        _show(axes[0], clean["optical"], "clean")
        for ax, (i, d) in zip(axes[1:4], enumerate(draws), strict=True):
            _show(ax, d.inputs["optical"], f"draw {i}")
    if kind == "gaps":
        _show(axes[4], draws[0].inputs["mask"], "gap mask (draw 0)")
    else:
        field = draws[0].info[_MAPS[kind]]
        field = field[2:3] if field.ndim == 3 else field[None]  # blue-band transmission
        blue = ", blue" if _MAPS[kind] == "transmission" else ""
        _show(axes[4], field, f"{_MAPS[kind]} (draw 0{blue})")
    fig.suptitle(f"synthesis '{kind}' on {where}", fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


def write_synthesis_figures(root: Path, out_dir: Path, seed: int = 0) -> list[Path]:
    """Every kind's figure into ``out_dir/synthesis_<kind>.png``."""
    return [synthesis_figure(kind, root, out_dir / f"synthesis_{kind}.png", seed) for kind in SYNTHESES]


#: The real SLC-off figure: a crop of the 2010-01-16 scene (its own gaps, no ground truth for them)
#: and the 2010-05-08 scene as the reference date (false colour: bands 5, 4, 3 as R, G, B).
SLC_OFF_CROP = (0, 1400, 384)


def slc_off_figure(root: Path, model: str | Path | None, out: Path) -> Path:
    """Real Landsat-7 SLC-off gaps as a user has them, filled by GDAL FillNodata, the LLHM-style
    baseline from another date and the model single-date and with that date (through the engine).
    No ground truth exists for these pixels: a visual check of what the tables score elsewhere."""
    import tempfile

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .baselines.fillnodata import gdal_fill_nodata
    from .baselines.llhm import local_linear_fill
    from .data.real_gaps import _date, _unit
    from .evaluate import restore_file, write_geotiff

    y0, x0, size = SLC_OFF_CROP
    window = (slice(None), slice(y0, y0 + size), slice(x0, x0 + size))
    target, reference = _unit(_date(root, "20100116"))[window], _unit(_date(root, "20100508"))[window]
    panels = [(target, "2010-01-16, real SLC-off gaps"), (reference, "2010-05-08 (reference date)"),
              (gdal_fill_nodata(target), "GDAL FillNodata"),
              (local_linear_fill(target, reference), "LLHM-style from 2010-05-08")]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        image = write_geotiff(folder / "image.tif", target, -9999.0)
        ref = write_geotiff(folder / "reference.tif", reference, -9999.0)
        single, _ = restore_file("fill_gaps", model, {"optical": image}, folder / "single.tif")
        both, _ = restore_file("fill_gaps", model, {"optical": image, "reference": ref}, folder / "both.tif")
    panels += [(single, "model, single date"), (both, "model with 2010-05-08")]
    lo, hi = np.nanpercentile(target, [1, 99])
    fig, axes = plt.subplots(1, len(panels), figsize=(2.7 * len(panels), 3.0))
    for ax, (array, title) in zip(axes, panels, strict=True):
        low, high = (lo, hi) if array is not reference else np.nanpercentile(reference, [1, 99])
        _show(ax, np.clip((np.nan_to_num(array[::-1], nan=low) - low) / (high - low), 0, 1), title)
    fig.suptitle(f"Landsat-7 ETM+ SLC-off, Broken Hill (CC BY 3.0 AU), rows {y0}+{size} cols {x0}+{size}, "
                 "bands 5-4-3; no ground truth for these gaps", fontsize=9)  # fmt: skip
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out
