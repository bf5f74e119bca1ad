"""Where a dehazer's error lies: in its global level per band, or in local structure.

For each paired test set of the dehaze evaluation (the held-out regions hazed by the training
synthesis and by the RS-Haze recipe, and the RS-Haze tile's two hazy versions), the PSNR of the
hazy input, the dark channel prior and a model package (through the engine), as they are and after
``training.metrics.best_affine``: the per-band gain and offset that fit the clean reference best.
That fit is an oracle (it knows the reference). The gap it closes is error in the global level (how
much haze was taken off each band, how much contrast was given back). The rest is local: structure,
and haze that varies in space. The issue's target (the prior + 4 dB) is printed beside each set.

``--scene-offset DRAWS`` asks how much of that global error the raster itself can tell: a per-band
offset of the model's output, linear in percentiles of each band of the whole hazy raster (the
statistics the engine's scene context computes), is fitted by ridge regression to the residual
mean of each band on the train blocks (``DRAWS`` hazes of each, by the shipped model's last-stage
synthesis), its penalty chosen on the val blocks, and scored on every test set.

    python -m training analyze headroom --model resources/models/dehaze-hsmr-lite.onnx [--scene-offset 10]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backend.model_card import SceneContext
from backend.normalization import NormStats, compute_stats, context_vector, denormalize, normalize

from ..baselines.dcp import dark_channel_dehaze
from ..data.scenes import CLEAN_SCENES, load_scenes, scene_blocks
from ..evaluation.base import EngineModel
from ..metrics import best_affine, psnr
from ..paths import REPO_ROOT, default_data_root
from ..specs import get_spec
from ..synthesis import SYNTHESES
from ..synthesis.base import Degradation

#: The issue's bar: this many dB above the dark channel prior on each test set.
TARGET_MARGIN_DB = 4.0
#: The scene offset's features: these percentiles of each band of the raster, in model units.
OFFSET_PERCENTILES = (0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0)
#: Ridge penalties tried for the scene offset; the best on the val blocks is kept.
PENALTIES = (1e-4, 1e-3, 1e-2, 1e-1)
Pairs = Iterable[tuple[np.ndarray, np.ndarray]]
Synth = Callable[[dict[str, np.ndarray], np.random.Generator], Degradation]


def last_stage_synthesis(root: Path, bands: tuple[str, ...]) -> Synth:
    """The haze synthesis of the ``lite-1.1.0`` named config's last stage, the shipped model's."""
    config = SYNTHESES["haze"].make_config(root, get_spec("dehaze", config="lite-1.1.0").synthesis)
    return lambda clean, rng: SYNTHESES["haze"].synth(clean, rng, config, bands)


@dataclass(frozen=True)
class OffsetSample:
    """One raster for the scene offset: its features, and the model's result and the reference,
    both in model units (the normalisation of the hazy raster), with the statistics that map back."""

    features: np.ndarray
    result: np.ndarray
    clean: np.ndarray
    stats: NormStats


class SceneOffset:
    """A per-band offset of a model's result (in model units), linear in the raster's statistics."""

    def __init__(self, model: EngineModel) -> None:
        self.model = model
        self.norm = model.input.normalization
        self.context = SceneContext("offset", OFFSET_PERCENTILES)
        self.weights: np.ndarray | None = None

    def sample(self, hazy: np.ndarray, clean: np.ndarray, result: np.ndarray | None = None) -> OffsetSample:
        """The raster's features (and a constant), the model's result (run here unless given, in the
        raster's units) and the reference."""
        stats = compute_stats(hazy, self.norm, context=self.context)
        features = np.append(context_vector(self.norm, stats, len(hazy)), 1.0)
        result = np.clip(self.model(hazy) if result is None else result, 0.0, 1.0)
        return OffsetSample(features, normalize(result, self.norm, stats), normalize(clean, self.norm, stats),
                            stats)  # fmt: skip

    def fit(self, samples: list[OffsetSample], penalty: float) -> None:
        """Ridge regression of each band's mean residual on the features."""
        x = np.stack([s.features for s in samples]).astype(np.float64)
        y = np.stack([(s.clean - s.result).reshape(len(s.result), -1).mean(axis=1) for s in samples])
        self.weights = np.linalg.solve(x.T @ x + penalty * np.eye(x.shape[1]), x.T @ y)

    def apply(self, sample: OffsetSample) -> np.ndarray:
        """The result with the offset, back in the raster's units, clipped to [0, 1]."""
        shift = (sample.features @ self.weights).astype(np.float32)[:, None, None]
        return self.back(sample.result + shift, sample)

    def back(self, values: np.ndarray, sample: OffsetSample) -> np.ndarray:
        """Model units -> the raster's, clipped to [0, 1]."""
        raster = denormalize(values, self.norm, sample.stats, self.model.output.range, np.float32)
        return np.clip(raster, 0.0, 1.0)

    def score(self, samples: list[OffsetSample], with_offset: bool = True) -> float:
        """Mean PSNR over ``samples`` with the offset (or without it, for comparison)."""
        results = (self.apply(s) if with_offset else self.back(s.result, s) for s in samples)
        return float(np.mean([psnr(r, self.back(s.clean, s)) for r, s in zip(results, samples, strict=True)]))


def headroom(model: Callable[[np.ndarray], np.ndarray], pairs: Pairs,
             offset: SceneOffset | None = None) -> dict:  # fmt: skip
    """Mean PSNR over (hazy, clean) ``pairs`` of each method, as it is and after the oracle fit (and
    the model with a fitted scene ``offset``)."""
    methods = {"hazy": lambda x: x, "dcp": dark_channel_dehaze, "model": model}
    scores: dict[str, dict[str, list[float]]] = {m: {"psnr": [], "best_affine": []} for m in methods}
    for hazy, clean in pairs:
        results = {name: np.clip(method(hazy), 0.0, 1.0) for name, method in methods.items()}
        for name, result in results.items():
            scores[name]["psnr"].append(psnr(result, clean))
            scores[name]["best_affine"].append(psnr(np.clip(best_affine(result, clean), 0.0, 1.0), clean))
        if offset is not None:
            shifted = offset.apply(offset.sample(hazy, clean, results["model"]))
            scores["model"].setdefault("scene_offset", []).append(psnr(shifted, clean))
    out = {m: {k: round(float(np.mean(v)), 2) for k, v in s.items()} for m, s in scores.items()}
    out["pairs"] = len(scores["hazy"]["psnr"])
    out["target"] = round(out["dcp"]["psnr"] + TARGET_MARGIN_DB, 2)
    return out


def recipe_samples(offset: SceneOffset, root: Path, split: str, draws: int, seed: int) -> list[OffsetSample]:
    """``draws`` hazes of each block of ``split`` by the shipped model's last-stage synthesis."""
    bands = offset.model.bands
    synth = last_stage_synthesis(root, bands)
    rng = np.random.default_rng(seed)
    samples = []
    for _, _, _, clean in scene_blocks(load_scenes(CLEAN_SCENES, root, bands), split):
        for _ in range(draws):
            deg = synth({"optical": clean}, rng)
            samples.append(offset.sample(deg.inputs["optical"], deg.target))
    return samples


def fit_scene_offset(model: EngineModel, root: Path, draws: int) -> tuple[SceneOffset, dict]:
    """The scene offset fitted on the train blocks, its penalty chosen on the val blocks."""
    offset = SceneOffset(model)
    train = recipe_samples(offset, root, "train", draws, seed=1)
    val = recipe_samples(offset, root, "val", max(1, draws // 2), seed=2)
    scores = {}
    for penalty in PENALTIES:
        offset.fit(train, penalty)
        scores[penalty] = round(offset.score(val), 2)
    best = max(scores, key=scores.get)
    offset.fit(train, best)
    return offset, {"train_samples": len(train), "val_samples": len(val), "penalty": best,
                    "val_psnr_without": round(offset.score(val, with_offset=False), 2),
                    "val_psnr_by_penalty": {str(k): v for k, v in scores.items()}}  # fmt: skip


def paired_sets(root: Path, model: EngineModel) -> dict[str, Callable[[], Pairs]]:
    """The evaluation's paired sets, each as a function giving its (hazy, clean) pairs: the held-out
    regions as ``training.data.recipes.evaluation_regions`` draws them, the same regions by the
    RS-Haze recipe, and the RS-Haze tile's hazy versions."""
    from ..data.recipes import evaluation_regions
    from ..evaluate import spec_for_model
    from ..evaluation.held_out import other_recipe
    from ..evaluation.rs_haze_pair import rs_haze_tile
    from ..specs import get_spec

    spec = spec_for_model(get_spec("dehaze"), model.path)

    def regions() -> list[Degradation]:
        return [deg for _, deg in evaluation_regions(spec, root)]

    def rs_recipe() -> Pairs:
        for n, deg in enumerate(regions()):
            other = other_recipe(deg.target, n, root, model.bands)
            yield other.inputs["optical"], other.target

    clean, hazy = rs_haze_tile(root, model.bands)
    sets = {"synthetic_test": lambda: ((d.inputs["optical"], d.target) for d in regions()),
            "synthetic_rs_recipe": rs_recipe}  # fmt: skip
    for variant, image in hazy.items():
        sets[f"rs_haze_{variant}"] = lambda image=image: [(image, clean)]
    return sets


def table(results: dict) -> str:
    """The results as a Markdown table (PSNR as it is / after the oracle fit)."""
    offset = all("scene_offset" in r["model"] for r in results.values())
    rows = ["| test set | hazy | dark channel prior | model |" + (" model + scene offset |" if offset else "")
            + " target (prior + 4 dB) |", "|---|---|---|---|" + ("---|" if offset else "") + "---|"]
    for name, r in results.items():
        cells = [f"{r[m]['psnr']:.2f} / {r[m]['best_affine']:.2f}" for m in ("hazy", "dcp", "model")]
        cells += [f"{r['model']['scene_offset']:.2f}"] if offset else []
        rows.append(f"| {name} | " + " | ".join(cells) + f" | {r['target']:.2f} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training analyze headroom",
                                     description=__doc__.splitlines()[0])  # fmt: skip
    parser.add_argument("--model", type=Path, default=REPO_ROOT / "resources/models/dehaze-hsmr-lite.onnx")
    parser.add_argument("--data", type=Path, default=default_data_root())
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "figures" / "dehaze_headroom.json")
    parser.add_argument("--sets", nargs="+", help="only these test sets (default: all)")
    parser.add_argument("--scene-offset", type=int, metavar="DRAWS",
                        help="also fit and score a scene offset on DRAWS hazes of each train block")
    args = parser.parse_args(argv)

    model = EngineModel("dehaze", args.model)
    sets = paired_sets(args.data, model)
    unknown = set(args.sets or ()) - set(sets)
    if unknown:
        parser.error(f"unknown test sets {sorted(unknown)}; known: {sorted(sets)}")
    offset, fitted = None, None
    if args.scene_offset:
        offset, fitted = fit_scene_offset(model, args.data, args.scene_offset)
        print("scene offset", json.dumps(fitted), flush=True)
    results = {name: headroom(model, pairs(), offset) for name, pairs in sets.items()
               if name in (args.sets or sets)}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {"model": args.model.name, "sets": results, **({"scene_offset": fitted} if fitted else {})}
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(table(results))
    print(f"wrote {args.out}")
    return 0
