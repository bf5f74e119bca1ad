"""Run a named training config: its stages in order, each from the previous stage's best weights.

``python -m training train --task T --config NAME`` comes here. A preset (``lite``, ``full``) is one
stage; a named config of ``training.specs.NAMED_CONFIGS`` may have several (the shipped dehaze model
was fine-tuned in four). Stage ``k`` of ``n`` trains in ``<out>/stage<k>`` and the last one in
``<out>`` itself, so ``<out>/best.pt`` is always the config's result. Every checkpoint records the
stages before it (``chain``): export writes the whole recipe into the model card from that.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .archs import ARCHS, make_config
from .checkpoint import load_checkpoint
from .config import NamedConfig, TaskSpec, TrainConfig
from .data.recipes import build_dataset
from .data.unlabelled import build_unlabelled
from .loop import TrainResult, train
from .synthesis.base import WAVELENGTH_UM


@dataclass(frozen=True)
class PlannedStage:
    """What one stage trains: the spec, the schedule and the resolved architecture config."""

    spec: TaskSpec
    train_config: TrainConfig
    arch_config: dict[str, Any]
    #: Parameter-name prefixes the previous stage's weights may lack (``Stage.new_blocks``).
    new_blocks: tuple[str, ...] = ()


def plan(spec: TaskSpec, config: NamedConfig, overrides: Mapping[str, Any] | None = None,
         arch_override: Any = None) -> list[PlannedStage]:  # fmt: skip
    """Every stage of ``config`` applied to ``spec``. ``overrides`` (non-None ``TrainConfig`` fields)
    apply to every stage, except ``minutes``: a budget for the whole config, shared among the
    stages in proportion to their own budgets. ``arch_override`` replaces the architecture config."""
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    budget = overrides.pop("minutes", None)
    stages = [stage.apply(spec) for stage in config.stages]
    total = sum(cfg.minutes or 0.0 for _, cfg, _ in stages)
    planned = []
    for (stage_spec, cfg, arch), stage in zip(stages, config.stages, strict=True):
        cfg = cfg.replace(**overrides)
        if budget is not None:
            share = cfg.minutes / total if total and cfg.minutes else 1.0 / len(stages)
            cfg = cfg.replace(minutes=budget * share)
        arch = arch_override if arch_override is not None else arch
        resolved = make_config(stage_spec.arch, arch, in_channels=stage_spec.in_channels,
                               out_channels=stage_spec.out_channels,
                               context_features=stage_spec.context_features)  # fmt: skip
        planned.append(PlannedStage(stage_spec, cfg, dataclasses.asdict(resolved), tuple(stage.new_blocks)))
    return planned


def chain_entry(stage: PlannedStage, step: int) -> dict[str, Any]:
    """What a checkpoint records of an earlier stage, for the model card's recipe."""
    return {"arch": stage.spec.arch, "arch_config": stage.arch_config,
            "train_config": dataclasses.asdict(stage.train_config), "synthesis": dict(stage.spec.synthesis),
            "step": step}  # fmt: skip


def band_sources(old: tuple[str, ...], new: tuple[str, ...]) -> tuple[list[int], list[bool]]:
    """Each new band's source among the old ones (itself, else the nearest in wavelength) and
    whether it is new: how a network's weights for ``old`` bands start one for ``new`` bands."""
    def nearest(band: str) -> int:
        return min(range(len(old)), key=lambda k: abs(WAVELENGTH_UM[old[k]] - WAVELENGTH_UM[band]))

    return [old.index(b) if b in old else nearest(b) for b in new], [b not in old for b in new]


def initial_weights(checkpoint: dict[str, Any], stage: PlannedStage, path: Path) -> dict[str, Any]:
    """The weights of ``checkpoint`` (read from ``path``) for ``stage``'s network; from another band
    set they are carried over band by band where the architecture can (``ArchEntry.remap_bands``)."""
    state = checkpoint["model"]
    old = tuple(checkpoint["task_spec"]["output_bands"])
    new = stage.spec.output_bands
    if old != new:
        remap = ARCHS[stage.spec.arch].remap_bands
        if remap is None:
            raise ValueError(f"{path} was trained on bands {old}, this stage on {new}, and architecture "
                             f"{stage.spec.arch!r} cannot carry weights across band sets")
        config = make_config(stage.spec.arch, stage.arch_config)
        state = remap(state, *band_sources(old, new), config)
        print(f"initial weights: bands {old} -> {new}")
    return state


def stage_metadata(name: str, note: str, k: int, chain: list[dict[str, Any]],
                   init: Path | None) -> dict[str, Any]:  # fmt: skip
    """What every checkpoint of stage ``k`` of config ``name`` records beside its weights: the
    config, the stages before it (``chain_entry``) and the weights it started from."""
    return {"config": name, "note": note, "stage": k, "chain": list(chain),
            "init": None if init is None else str(init)}


#: Written into a stage's folder when it reached its end, so ``resume`` goes on to the next stage.
DONE = "done"


def run_config(name: str, stages: list[PlannedStage], *, root: Path, out: Path, init: Path | None = None,
               note: str = "", device: str = "auto", resume: bool = False, progress: bool = True,
               stop_after: int | None = None) -> TrainResult:  # fmt: skip
    """Train every stage of the named config ``name`` in order (see the module docstring); ``init``
    starts the first stage from those weights; ``note`` goes into every checkpoint for the card's
    recipe (``NamedConfig.note``). Returns the last stage run's result: a stage that
    stops early (``stop_after``) ends the call, and ``resume`` continues it, then the rest."""
    chain: list[dict[str, Any]] = []
    start = init
    previous = None if init is None else load_checkpoint(init)
    for k, stage in enumerate(stages, 1):
        last = k == len(stages)
        stage_out = out if last else out / f"stage{k}"
        if not last and resume and (stage_out / DONE).exists():
            print(f"stage {k} of {len(stages)} of config {name!r} is done ({stage_out})")
        else:
            if len(stages) > 1:
                print(f"stage {k} of {len(stages)} of config {name!r} -> {stage_out}")
            result = _train_stage(name, note, stage, stage_out, root, start, previous, chain, k,
                                  device=device, resume=resume, progress=progress,
                                  stop_after=stop_after)  # fmt: skip
            if last or not result.finished:
                return result
            (stage_out / DONE).write_text("")
        start = stage_out / "best.pt"  # read once: its step for the chain, its weights for the next stage
        previous = load_checkpoint(start)
        chain.append(chain_entry(stage, int(previous["step"])))
    raise AssertionError("unreachable: the last stage returns")


def _train_stage(name: str, note: str, stage: PlannedStage, out: Path, root: Path, start: Path | None,
                 previous: dict[str, Any] | None, chain: list[dict[str, Any]], k: int,
                 **options: Any) -> TrainResult:  # fmt: skip
    spec, cfg = stage.spec, stage.train_config
    print(f"task {spec.key}: arch {spec.arch} ({stage.arch_config}), data {spec.data} from {root}")
    print(f"config {name}: {cfg}")
    train_set = build_dataset(spec, root, "train", crop=cfg.crop, length=cfg.steps * cfg.batch_size,
                              seed=cfg.seed, train=True)  # fmt: skip
    val_set = build_dataset(spec, root, "val", crop=cfg.crop, length=cfg.val_samples, seed=cfg.seed + 10_000,
                            train=False)  # fmt: skip
    unlabelled = build_unlabelled(spec, root, crop=cfg.crop, length=cfg.steps * cfg.batch_size,
                                  seed=cfg.seed + 20_000)  # fmt: skip
    if spec.unlabelled:
        print(f"semi-supervised branch {spec.unsupervised} on {spec.unlabelled}: "
              + ("on" if unlabelled is not None else "no unlabelled images found, supervised only"))
    init_state = initial_weights(previous, stage, start) if previous is not None else None
    metadata = stage_metadata(name, note, k, chain, start)
    return train(spec, cfg, train_set=train_set, val_set=val_set, out_dir=out, arch_config=stage.arch_config,
                 unlabelled_set=unlabelled, init_state=init_state, init_new=stage.new_blocks,
                 metadata=metadata, **options)  # fmt: skip
