"""Train the lite HSMR-Net dehazer (the shipped model's recipe) within a wall-clock budget.

The dehaze recipe on the training package's loop (``training.loop.train``): the clean scenes and
their seeded spatial split, the haze syntheses and the modifiers below, engine-like normalisation,
the spec's loss (2.5 SmoothL1 + 0.5 (1 - MS-SSIM), the paper's main terms), Adam with a cosine decay
over the wall-clock budget (or over ``--steps``), a ten times larger rate for a new scene block. It
writes what every run writes (``last.pt``, ``best.pt`` by validation PSNR, ``metrics.csv``,
``curve.png``), with the command line in the checkpoint; ``scripts/export_dehaze_hsmr.py`` turns a
checkpoint into the model package and names the whole fine-tuning chain in its card.

    .venv/bin/python scripts/train_dehaze_hsmr.py --minutes 40 --threads 1 --out runs/hsmr_lite

``--init`` fine-tunes from a checkpoint, ``--attention-window`` pools channel attention locally,
``--light-haze`` (with ``--light-tau``) and ``--nodata`` add thin-haze samples and scene collars,
``--airlight-angstrom`` bluish airlights, ``--offset`` a sensor's offset (L1 digital numbers),
``--bands`` another band set (e.g. ``blue green red nir``, the multispectral model), ``--band-gain``
per-band gains (products that balance their bands differently), ``--rs-haze`` the RS-Haze
benchmark's haze recipe on a share of the samples,
``--scene-context`` feeds the network percentiles of a
larger ``--region`` around each crop, which stands in for the raster (docs/MODELS.md).

Until 2026-12-01 the script had a loop of its own. Its checkpoints (the runs behind 1.1.0) still load
for ``--init`` and export; their validation PSNR was taken on [0, 1] after clipping, the loop's is on
the output range (0, 0.8) without clipping, about 1.9 dB lower for the same error.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from backend.model_card import SceneContext  # noqa: E402
from training.archs.hsmr import HSMRConfig, remap_bands  # noqa: E402
from training.checkpoint import load_checkpoint  # noqa: E402
from training.config import TrainConfig  # noqa: E402
from training.data.datasets import SceneCrops  # noqa: E402
from training.data.scenes import CLEAN_SCENES, RGB, load_scenes  # noqa: E402
from training.loop import train  # noqa: E402
from training.synthesis.band_gain import BandGainConfig, add_band_gains  # noqa: E402
from training.synthesis.base import WAVELENGTH_UM, Degradation  # noqa: E402
from training.synthesis.haze import CIRRUS_DIR, HazeConfig, synthesize_haze  # noqa: E402
from training.synthesis.nodata import NodataConfig, add_nodata  # noqa: E402
from training.synthesis.offset import OffsetConfig, add_offset  # noqa: E402
from training.synthesis.rs_haze import RSHazeConfig, synthesize_rs_haze  # noqa: E402

#: The ONNX name of the scene-context tensor (the export script names the image input "hazy").
CONTEXT_NAME = "hazy_context"


def dehaze_spec(context: tuple[float, ...] = (), bands: tuple[str, ...] = RGB):
    """The dehaze TaskSpec (inputs, normalisation, output range) shared with ``python -m training``,
    for ``bands`` (in and out), with a scene context of these percentiles on its input when
    ``context`` is given."""
    from training.specs import TASK_SPECS

    spec = TASK_SPECS["dehaze"]
    if not context and bands == spec.output_bands:
        return spec
    (hazy,) = spec.inputs
    context_spec = SceneContext(CONTEXT_NAME, tuple(context)) if context else None
    hazy = dataclasses.replace(hazy, bands=bands, context=context_spec)
    return dataclasses.replace(spec, inputs=(hazy,), output_bands=bands)


def band_sources(old: tuple[str, ...], new: tuple[str, ...]) -> tuple[list[int], list[bool]]:
    """For ``remap_bands``: each new band's source among the old ones (itself, else the nearest in
    wavelength) and whether it is new."""
    def nearest(band: str) -> int:
        return min(range(len(old)), key=lambda k: abs(WAVELENGTH_UM[old[k]] - WAVELENGTH_UM[band]))

    return ([old.index(b) if b in old else nearest(b) for b in new], [b not in old for b in new])


# ---------------------------------------------------------------------------------------------
def haze_synthesis(root: Path, light_share: float = 0.0, nodata: NodataConfig | None = None,
                   airlight_angstrom: tuple[float, float] = (0.0, 0.0),
                   light_tau: tuple[float, float] = (0.02, 0.2), offset: OffsetConfig | None = None,
                   bands: tuple[str, ...] = RGB, band_gain: BandGainConfig | None = None,
                   rs_haze: float = 0.0) -> Callable[[dict, np.random.Generator], Degradation]:
    """The recipe's ``synth(clean, rng)``. ``light_share`` of the samples get thin haze (optical depth
    ``light_tau``, down to 0 = no haze at all), so the model also learns to leave clear ground
    alone; ``nodata`` cuts scene collars; ``airlight_angstrom`` draws bluish airlights
    (``HazeConfig``); ``offset`` records some pairs with a sensor offset (``OffsetConfig``), as L1
    digital numbers have; ``bands`` are the scenes' bands the model sees, in order (haze thins with
    wavelength, ``HazeConfig``); ``band_gain`` gives some pairs another balance between their bands
    (``BandGainConfig``); ``rs_haze`` of the samples get the RS-Haze benchmark's recipe instead
    (``RSHazeConfig``: a bright airlight, thickness-dependent wavelength selectivity)."""
    config = HazeConfig(cirrus_dir=str(root / CIRRUS_DIR), airlight_angstrom=airlight_angstrom)
    light = dataclasses.replace(config, tau=tuple(light_tau))
    rs_config = RSHazeConfig(cirrus_dir=config.cirrus_dir)

    def synth(clean, rng):
        if rs_haze > 0 and rng.random() < rs_haze:  # drawn only then: older recipes keep their stream
            deg = synthesize_rs_haze(clean, rng, rs_config, bands)
        else:
            deg = synthesize_haze(clean, rng, light if rng.random() < light_share else config, bands)
        if band_gain is not None:  # the product's per-band gains, before any offset
            deg = add_band_gains(deg, rng, band_gain)
        if offset is not None:  # the sensor records the hazy scene: after haze, before the collar
            deg = add_offset(deg, rng, offset)
        return add_nodata(deg, rng, nodata) if nodata is not None else deg

    return synth


def make_datasets(root: Path, crop: int, length: int, seed: int, light_share: float = 0.0,
                  nodata: NodataConfig | None = None, airlight_angstrom: tuple[float, float] = (0.0, 0.0),
                  light_tau: tuple[float, float] = (0.02, 0.2), context: tuple[float, ...] = (),
                  region: int | None = None, offset: OffsetConfig | None = None,
                  bands: tuple[str, ...] = RGB, band_gain: BandGainConfig | None = None,
                  rs_haze: float = 0.0):
    """Train/val crops of the recipe (``haze_synthesis``, whose arguments these are too); ``context``
    adds a scene context of those percentiles, taken over a ``region`` around each crop."""
    spec = dehaze_spec(context, bands)
    scenes = load_scenes(CLEAN_SCENES, root, bands)
    synth = haze_synthesis(root, light_share, nodata, airlight_angstrom, light_tau, offset, bands,
                           band_gain, rs_haze)
    train = SceneCrops(scenes, "train", spec, synth, crop=crop, length=length, seed=seed, train=True,
                       region=region)
    val = SceneCrops(scenes, "val", spec, synth, crop=crop, length=32, seed=seed + 1, train=False,
                     region=region)
    return spec, [s.name for s in scenes], train, val


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO_ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "runs" / "hsmr_lite")
    parser.add_argument("--config", choices=("lite", "full"), default="lite")
    parser.add_argument("--minutes", type=float, default=40.0, help="wall-clock budget")
    parser.add_argument("--steps", type=int, help="fixed number of steps instead of the budget")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (logs, CI)")
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--val-every", type=int, default=250)
    parser.add_argument("--attention-window", type=int,
                        help="channel attention over a local window of this size (default: global pool)")
    parser.add_argument("--init", type=Path, help="start from this checkpoint's weights (fine-tuning; "
                        "from another band set, the stem and head are carried over band by band)")
    parser.add_argument("--bands", nargs="+", choices=sorted(WAVELENGTH_UM), default=list(RGB),
                        help="the bands the model takes and returns, in order (default: red green blue)")
    parser.add_argument("--band-gain", type=float, nargs=2, default=(0.0, 2.0), metavar=("SHARE", "RATIO"),
                        help="share of pairs with per-band gains, and the largest ratio between two gains")
    parser.add_argument("--light-haze", type=float, default=0.0, help="share of thin-haze samples")
    parser.add_argument("--light-tau", type=float, nargs=2, default=(0.02, 0.2), metavar=("LO", "HI"),
                        help="optical depth range of the thin-haze samples (0 = clear)")
    parser.add_argument("--nodata", type=float, default=0.0, help="share of samples with a nodata collar")
    parser.add_argument("--airlight-angstrom", type=float, nargs=2, default=(0.0, 0.0), metavar=("LO", "HI"),
                        help="range of the airlight's wavelength exponent (0 0: grey airlight)")
    parser.add_argument("--rs-haze", type=float, default=0.0,
                        help="share of samples hazed by the RS-Haze benchmark's recipe (bright airlight)")
    parser.add_argument("--scene-context", type=float, nargs="+", default=(), metavar="P",
                        help="feed the network these percentiles of each band of the region (e.g. 1 50)")
    parser.add_argument("--region", type=int,
                        help="degrade and normalise a square of this size around each crop (the 'raster')")
    parser.add_argument("--offset", type=float, default=0.0,
                        help="share of samples recorded with a sensor offset (the DN of black ground)")
    parser.add_argument("--offset-range", type=float, nargs=2, default=(0.05, 0.6), metavar=("LO", "HI"),
                        help="range of that offset as a share of the unit range")
    parser.add_argument("--context-lr", type=float, default=10.0,
                        help="learning-rate multiplier of the (new, zero-initialised) scene block")
    args = parser.parse_args(argv)
    if args.scene_context and args.region is None:
        parser.error("--scene-context needs --region: the statistics of a crop alone are a tile's")

    torch.set_num_threads(args.threads)
    arch_config = HSMRConfig.lite() if args.config == "lite" else HSMRConfig.full(norm="batch")
    arch_config = dataclasses.replace(arch_config, attention_window=args.attention_window)
    bands = tuple(args.bands)
    init_state = None
    if args.init is not None:
        checkpoint = load_checkpoint(args.init)
        init_state = checkpoint["model"]
        old_bands = tuple(checkpoint["task_spec"]["output_bands"])
        if old_bands != bands:
            init_state = remap_bands(init_state, *band_sources(old_bands, bands), arch_config.head)
            print(f"--init: bands {old_bands} -> {bands}", flush=True)
    # The scene block starts at zero: a larger learning rate lets it catch up with the rest.
    cfg = TrainConfig(steps=args.steps or 10**7, batch_size=args.batch, crop=args.crop, lr=args.lr,
                      schedule="cosine", minutes=None if args.steps else args.minutes,
                      lr_scales=(("scene.", args.context_lr),), val_every=args.val_every, val_samples=32,
                      log_every=25, seed=args.seed, grad_clip=1.0)  # fmt: skip
    nodata = NodataConfig(probability=args.nodata) if args.nodata > 0 else None
    offset = OffsetConfig(args.offset, tuple(args.offset_range)) if args.offset > 0 else None
    share, ratio = args.band_gain
    band_gain = BandGainConfig(share, ratio) if share > 0 else None
    spec, scene_names, train_set, val_set = make_datasets(
        args.data, args.crop, cfg.steps * args.batch, args.seed, args.light_haze, nodata,
        tuple(args.airlight_angstrom), tuple(args.light_tau), tuple(args.scene_context), args.region, offset,
        bands, band_gain, args.rs_haze)
    print(f"HSMR-Net {args.config} on scenes {scene_names}; {cfg}", flush=True)
    # 2.5 SmoothL1 + 0.5 (1 - MS-SSIM), the paper's main terms, are the spec's losses.
    result = train(spec, cfg, train_set=train_set, val_set=val_set, out_dir=args.out, arch_config=arch_config,
                   device=args.device, progress=not args.no_progress, init_state=init_state,
                   init_new=("scene.",), metadata={"args": {k: str(v) for k, v in vars(args).items()}})
    print(f"done: {result.steps} steps in {result.seconds:.0f} s, "
          f"best validation PSNR {result.best_psnr:.2f} dB", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
