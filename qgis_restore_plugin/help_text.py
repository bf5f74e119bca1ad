"""Help strings of the algorithms: what each does, what input it expects, the model and its citation.

Titles come from ``backend.tasks``; models, versions and citations from the installed model cards
(``backend.registry``), so the help never disagrees with what will run. The registry is read once per
provider load (``refresh()`` clears the cache); when it cannot be read, the help says why.
"""

from __future__ import annotations

import html
from functools import cache
from pathlib import Path
from typing import Any

from . import _backend

COMMON_PARAMETERS = (
    "<p><b>Parameters.</b> <i>Bands</i>: the bands of the input to restore, in the order the model "
    "expects (empty: all of them). <i>Model</i>: pick one of the task's installed models (name, "
    "version, bands; the default is marked; its card is shown under the list) or an .onnx model package "
    "(Model file...); Default: the task's default model, or the installed model that takes as many bands "
    "as the input has, e.g. a 4-band blue, green, red, NIR model for a 4-band raster. In scripts and "
    "qgis_process, MODEL is the model's name or the file's path. <i>Device</i>: auto picks the fastest "
    "execution provider that really works and reports it; cpu, cuda and tensorrt fail clearly when "
    "unavailable. Advanced: <i>Tile size</i> "
    "(0: the model's default), <i>Overlap</i> (-1: the model's default halo), <i>Batch size</i> "
    "(0: automatic), <i>Allow large rasters</i> (skips the checks of raster size, memory and free "
    "disk space made before a run).</p>"
    "<p>The output keeps the input's pixel grid, CRS and nodata.</p>"
)

STRENGTH_PARAMETER = (
    "<p><i>Strength</i>: the share of the model's change to keep, from 1 (the model's "
    "result) to 0 (the input unchanged); lower it for light haze or when the result looks overdone.</p>"
)
BLACK_LEVEL_PARAMETER = (
    "<p><i>Black level</i>: for digital numbers with an offset, the value that black ground has in "
    "every band (Landsat 8/9 Level-1: 5000, from the scene's MTL file as -REFLECTANCE_ADD / "
    "REFLECTANCE_MULT; Landsat Collection-2 Level-2 surface reflectance: 7273; Sentinel-2 L1C and L2A "
    "since 2022: 1000). It is taken off before the model and added back after it, so the offset is "
    "not removed as if it were haze. 0 for reflectance, photos and products without an offset.</p>"
)


PLUGIN_DIR = Path(__file__).resolve().parent


def doc_path(name: str) -> Path:
    """A documentation page: inside the installed plugin (``make package`` ships it), else the checkout's."""
    packaged = PLUGIN_DIR / "docs" / name
    return packaged if packaged.is_file() else PLUGIN_DIR.parent / "docs" / name


def documentation_html() -> str:
    """Links to the model and plugin documentation that ship with the plugin."""
    links = []
    for name, what in (("MODELS.md", "the models, how they were trained and evaluated, their limits"),
                       ("PLUGIN.md", "every parameter, installing the dependencies, troubleshooting")):
        path = doc_path(name)
        if path.is_file():
            links.append(f'<a href="{html.escape(path.as_uri())}">{name}</a> ({html.escape(what)})')
    return f"<p><b>Documentation.</b> {'; '.join(links)}.</p>" if links else ""


@cache
def installed_models(task_id: str) -> tuple[Any, ...] | str:
    """The installed models of ``task_id`` (``ModelInfo``), or a sentence saying why none can be listed."""
    try:
        registry = _backend.module("registry")
        return tuple(registry.list_models(task_id))
    except Exception as exc:  # missing dependencies or a broken model folder: help must still render
        return f"The installed models could not be listed ({type(exc).__name__}: {exc})."


def refresh() -> None:
    """Forget the cached model lists (after models were installed or removed)."""
    installed_models.cache_clear()


def models_html(task_id: str, models: tuple[Any, ...] | str) -> str:
    """The model section: default model, version, citation; other installed models by name."""
    if isinstance(models, str):
        return f"<p><b>Model.</b> {html.escape(models)}</p>"
    if not models:
        return (
            f"<p><b>Model.</b> No model is installed for the task '{task_id}' yet: the algorithm fails "
            "naming the missing model until one is installed (into the plugin's resources/models folder, "
            "or a folder named by the RESTORE_MODELS_PATH environment variable).</p>"
        )
    default = next((m for m in models if getattr(m, "default", False)), models[0])
    card = default.card
    parts = [
        f"<p><b>Model.</b> {html.escape(card.name)} {html.escape(str(card.version))} "
        f"({html.escape(card.architecture)})"
    ]
    if card.description:
        parts.append(f": {html.escape(card.description)}")
    parts.append("</p>")
    if card.citation:
        parts.append(f"<p><b>Citation.</b> {html.escape(card.citation)}</p>")
    if card.licence:
        parts.append(f"<p><b>Licence.</b> {html.escape(card.licence)}</p>")
    others = [
        f"{m.name} {m.card.version} ({m.card.architecture}; {', '.join(m.card.optical_bands)})"
        + (f": {m.card.description}" if m.card.description else "")
        for m in models if m is not default
    ]
    if others:
        parts.append(f"<p>Other installed models (pick one with <i>Model</i>; its card is shown under the "
                     f"list): {html.escape('; '.join(others))}.</p>")
    return "".join(parts)


def algorithm_help(task_id: str, what: str, inputs: str, strength: bool = False,
                   black_level: bool = False) -> str:
    """The full help of a restoration algorithm, as the small HTML subset the Processing panel shows."""
    return (
        f"<p>{html.escape(what)}</p>"
        f"<p><b>Input.</b> {html.escape(inputs)}</p>"
        f"{COMMON_PARAMETERS}"
        f"{STRENGTH_PARAMETER if strength else ''}"
        f"{BLACK_LEVEL_PARAMETER if black_level else ''}"
        f"{models_html(task_id, installed_models(task_id))}"
        f"{documentation_html()}"
    )
