"""Train the shipped lite HSMR-Net dehazer on a CPU within a wall-clock budget.

A thin driver over the training package's pieces (clean scenes, seeded spatial split, haze
synthesis, engine-like normalisation, the spec's loss: SmoothL1 + MS-SSIM as in the paper), Adam,
cosine decay over the wall-clock budget (or over ``--steps``). It exists because the shipped model
had to start training before the generic loop (``python -m training train``) was ready; it writes
a checkpoint (``last.pt``, and ``best.pt`` by validation PSNR) that
``scripts/export_dehaze_hsmr.py`` turns into a model package.

    .venv/bin/python scripts/train_dehaze_hsmr.py --minutes 40 --threads 1 --out runs/hsmr_lite

``--init`` fine-tunes from a checkpoint, ``--attention-window`` pools channel attention locally,
``--light-haze`` (with ``--light-tau``) and ``--nodata`` add thin-haze samples and scene collars,
``--airlight-angstrom`` bluish airlights, ``--offset`` a sensor's offset (L1 digital numbers),
``--bands`` another band set (e.g. ``blue green red nir``, the multispectral model), ``--band-gain``
per-band gains (products that balance their bands differently), ``--rs-haze`` the RS-Haze
benchmark's haze recipe on a share of the samples,
``--scene-context`` feeds the network percentiles of a
larger ``--region`` around each crop, which stands in for the raster (docs/MODELS.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from backend.model_card import SceneContext  # noqa: E402
from training import metrics  # noqa: E402
from training.archs.hsmr import HSMRConfig, HSMRNet, count_parameters, remap_bands  # noqa: E402
from training.data.datasets import SceneCrops  # noqa: E402
from training.data.scenes import CIRRUS_DIR, CLEAN_SCENES, RGB, load_scenes  # noqa: E402
from training.losses import build_loss  # noqa: E402
from training.synthesis.band_gain import BandGainConfig, add_band_gains  # noqa: E402
from training.synthesis.base import WAVELENGTH_UM  # noqa: E402
from training.synthesis.haze import HazeConfig, synthesize_haze  # noqa: E402
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


def forward(model: HSMRNet, item: dict[str, torch.Tensor]) -> torch.Tensor:
    """The model on a batched item, with its scene context when it has one."""
    return model(item["input"], item.get("context"))


def psnr(pred: torch.Tensor, target: torch.Tensor) -> float:
    """PSNR (dB) of one prediction, clipped to the target's [0, 1] range as the evaluation does."""
    return metrics.psnr(pred.clamp(0, 1).numpy(), target.clamp(0, 1).numpy())


# ---------------------------------------------------------------------------------------------
def make_datasets(root: Path, crop: int, length: int, seed: int, light_share: float = 0.0,
                  nodata: NodataConfig | None = None, airlight_angstrom: tuple[float, float] = (0.0, 0.0),
                  light_tau: tuple[float, float] = (0.02, 0.2), context: tuple[float, ...] = (),
                  region: int | None = None, offset: OffsetConfig | None = None,
                  bands: tuple[str, ...] = RGB, band_gain: BandGainConfig | None = None,
                  rs_haze: float = 0.0):
    """Train/val crops. ``light_share`` of the samples get thin haze (optical depth ``light_tau``,
    down to 0 = no haze at all), so the model also learns to leave clear ground alone; ``nodata``
    cuts scene collars; ``airlight_angstrom`` draws bluish airlights (``HazeConfig``); ``context``
    adds a scene context of those percentiles, taken over a ``region`` around each crop; ``offset``
    records some pairs with a sensor offset (``OffsetConfig``), as L1 digital numbers have; ``bands``
    are the scenes' bands the model sees, in order (haze thins with wavelength, ``HazeConfig``);
    ``band_gain`` gives some pairs another balance between their bands (``BandGainConfig``);
    ``rs_haze`` of the samples get the RS-Haze benchmark's recipe instead (``RSHazeConfig``: a
    bright airlight, thickness-dependent wavelength selectivity)."""
    spec = dehaze_spec(context, bands)
    scenes = load_scenes(CLEAN_SCENES, root, bands)
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

    train = SceneCrops(scenes, "train", spec, synth, crop=crop, length=length, seed=seed, train=True,
                       region=region)
    val = SceneCrops(scenes, "val", spec, synth, crop=crop, length=32, seed=seed + 1, train=False,
                     region=region)
    return spec, [s.name for s in scenes], train, val


def evaluate(model: HSMRNet, val, count: int = 32) -> float:
    model.eval()
    scores = []
    with torch.no_grad():
        for i in range(count):
            item = {key: value[None] for key, value in val[i].items()}
            scores.append(psnr(forward(model, item), item["target"]))
    model.train()
    return float(np.mean(scores))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO_ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "runs" / "hsmr_lite")
    parser.add_argument("--config", choices=("lite", "full"), default="lite")
    parser.add_argument("--minutes", type=float, default=40.0, help="wall-clock budget")
    parser.add_argument("--steps", type=int, help="fixed number of steps instead of the budget")
    parser.add_argument("--threads", type=int, default=1)
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
    torch.manual_seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    arch_config = HSMRConfig.lite() if args.config == "lite" else HSMRConfig.full(norm="batch")
    bands = tuple(args.bands)
    arch_config = dataclasses.replace(
        arch_config, attention_window=args.attention_window, in_channels=len(bands), out_channels=len(bands),
        context_features=len(bands) * len(args.scene_context))
    model = HSMRNet(arch_config).train()
    if args.init is not None:
        checkpoint = torch.load(args.init, map_location="cpu")
        state = checkpoint["state_dict"]
        old_bands = tuple(checkpoint["spec"]["output_bands"])
        if old_bands != bands:
            state = remap_bands(state, *band_sources(old_bands, bands), arch_config.head)
            print(f"--init: bands {old_bands} -> {bands}", flush=True)
        missing, unexpected = model.load_state_dict(state, strict=False)
        new = [k for k in missing if not k.startswith("scene.")]
        if new or unexpected:  # only the scene block may be new
            raise SystemExit(f"--init does not fit: missing {new}, unexpected {unexpected}")
    max_steps = args.steps or 10**7
    nodata = NodataConfig(probability=args.nodata) if args.nodata > 0 else None
    offset = OffsetConfig(args.offset, tuple(args.offset_range)) if args.offset > 0 else None
    share, ratio = args.band_gain
    band_gain = BandGainConfig(share, ratio) if share > 0 else None
    spec, scene_names, train, val = make_datasets(
        args.data, args.crop, max_steps * args.batch, args.seed, args.light_haze, nodata,
        tuple(args.airlight_angstrom), tuple(args.light_tau), tuple(args.scene_context), args.region, offset,
        bands, band_gain, args.rs_haze)
    # The scene block starts at zero: a larger learning rate lets it catch up with the rest.
    scene = [p for n, p in model.named_parameters() if n.startswith("scene.")]
    rest = [p for n, p in model.named_parameters() if not n.startswith("scene.")]
    groups = [{"params": rest, "scale": 1.0}]
    if scene:
        groups.append({"params": scene, "scale": args.context_lr})
    optimizer = torch.optim.Adam(groups, lr=args.lr)
    loss_fn = build_loss(spec.losses)  # 2.5 SmoothL1 + 0.5 (1 - MS-SSIM): the paper's main terms
    print(f"HSMR-Net {args.config}: {count_parameters(model)} parameters; scenes {scene_names}", flush=True)

    start = time.monotonic()
    budget = args.minutes * 60.0
    step, history, best = 0, [], -math.inf

    def validate_and_save(label: str = "") -> None:
        """Score the fixed validation crops, save ``last.pt``, and ``best.pt`` on a new best score."""
        nonlocal best
        val_psnr = evaluate(model, val)
        history.append({"step": step, "val_psnr": val_psnr, "seconds": time.monotonic() - start})
        print(f"{label}step {step} val PSNR {val_psnr:.2f} dB", flush=True)
        save(args.out / "last.pt", model, arch_config, spec, step, history, args)
        if val_psnr > best:
            best = val_psnr
            save(args.out / "best.pt", model, arch_config, spec, step, history, args)

    def progress() -> float:
        """Share of the run done: by steps when fixed, else by wall-clock (robust to a busy CPU)."""
        return step / args.steps if args.steps else (time.monotonic() - start) / budget

    while progress() < 1.0:
        batch = [train[step * args.batch + k] for k in range(args.batch)]
        stacked = {key: torch.stack([b[key] for b in batch]) for key in batch[0]}
        lr = args.lr * 0.5 * (1 + math.cos(math.pi * min(progress(), 1.0)))
        for group in optimizer.param_groups:
            group["lr"] = lr * group["scale"]
        loss = loss_fn(forward(model, stacked), stacked["target"])["total"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        step += 1
        if step % 25 == 0:
            elapsed = time.monotonic() - start
            print(f"step {step} loss {loss.item():.4f} lr {lr:.2e} t {elapsed:.0f}s", flush=True)
        if step % args.val_every == 0:
            validate_and_save()
    validate_and_save("done: ")
    (args.out / "history.json").write_text(json.dumps(history, indent=2))
    return 0


def save(path: Path, model, arch_config, spec, step, history, args) -> None:
    """Weights plus everything export needs: arch name + config, task spec, recipe, history."""
    torch.save(
        {
            "arch": "hsmr",
            "arch_config": dataclasses.asdict(arch_config),
            "spec": spec.to_dict(),
            "state_dict": model.state_dict(),
            "step": step,
            "history": history,
            "args": {k: str(v) for k, v in vars(args).items()},
        },
        path,
    )


if __name__ == "__main__":
    raise SystemExit(main())
