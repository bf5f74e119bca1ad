"""Figures: the panel grid every comparison figure is drawn with, and ``python -m training figures``.

``panel_grid`` draws rows of panels (input, methods, reference), each panel mapped to the display
by a linear stretch that its caller usually shares across a row (``common_stretch``), so contrast
and brightness changes between the panels show. ``python -m training figures`` writes example
degradations of a real clean scene, one PNG per kind: the clean crop, three draws of the synthesis
(seeds 0-2 after ``--seed``) and the spatial parameter of the first draw (transmission, cloud cover,
gap mask, streaks), as ``docs/figures/synthesis_<kind>.png``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Panel:
    """One cell of a panel grid: a (C, H, W) or (H, W) image, shown in colour from its first three
    bands (one band in ``cmap``) after mapping ``stretch`` linearly to [0, 1] (NaN as 0); pixels
    outside ``valid`` are white."""

    image: np.ndarray
    title: str = ""
    stretch: tuple[float, float] = (0.0, 1.0)
    valid: np.ndarray | None = None
    cmap: str = "gray"

    def display(self) -> np.ndarray:
        image = self.image[None] if self.image.ndim == 2 else self.image
        lo, hi = self.stretch
        shown = np.nan_to_num(image[:3].astype(np.float32), nan=0.0)
        shown = np.clip((shown - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
        shown = np.moveaxis(shown, 0, -1) if shown.shape[0] == 3 else shown[0]
        if self.valid is not None:
            shown[~self.valid] = 1.0
        return shown


def common_stretch(images: Iterable[np.ndarray], valid: np.ndarray | None = None,
                   percentiles: tuple[float, float] = (0.5, 99.5)) -> tuple[float, float]:  # fmt: skip
    """One display stretch for several images: the lowest of their low percentiles and the highest
    of their high ones, over the ``valid`` pixels (NaN ignored)."""
    picked = (i[:, valid] if valid is not None else i for i in images)
    bounds = np.array([np.nanpercentile(i, percentiles) for i in picked])
    return float(bounds[:, 0].min()), float(bounds[:, 1].max())


def panel_grid(path: Path, rows: Sequence[Sequence[Panel | None]], *, row_labels: Sequence[str] = (),
               cell: tuple[float, float] = (2.6, 2.9), dpi: int = 100, title_size: int = 8,
               suptitle: str = "") -> Path:  # fmt: skip
    """Rows of panels as one PNG at ``path``; a ``None`` panel leaves its cell empty. With
    ``row_labels`` each row is labelled at its left (and the panels keep a frame)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = max(len(r) for r in rows)
    size = (cell[0] * columns, cell[1] * len(rows))
    fig, axes = plt.subplots(len(rows), columns, figsize=size, squeeze=False)
    for r, row in enumerate(rows):
        for c in range(columns):
            ax, panel = axes[r, c], row[c] if c < len(row) else None
            if panel is None:
                ax.axis("off")
                continue
            ax.imshow(panel.display(), cmap=panel.cmap)
            ax.set_title(panel.title, fontsize=title_size)
            ax.set_xticks([])
            ax.set_yticks([])
            if not row_labels:
                ax.axis("off")
        if row_labels:
            axes[r, 0].set_ylabel(row_labels[r], fontsize=title_size)
    if suptitle:
        fig.suptitle(suptitle, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


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
    stretch = tuple(np.nanpercentile(target, [1, 99]))
    own = tuple(np.nanpercentile(reference, [1, 99]))  # another date: its own radiometry
    # bands 5, 4, 3 as red, green, blue; gaps shown at the bottom of the stretch
    row = [Panel(np.nan_to_num(a[::-1], nan=float((own if a is reference else stretch)[0])), title,
                 own if a is reference else stretch) for a, title in panels]  # fmt: skip
    return panel_grid(out, [row], cell=(2.7, 3.0), dpi=90,
                      suptitle=f"Landsat-7 ETM+ SLC-off, Broken Hill (CC BY 3.0 AU), rows {y0}+{size} cols "
                      f"{x0}+{size}, bands 5-4-3; no ground truth for these gaps")
