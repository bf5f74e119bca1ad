"""Typed configuration: how to train (``TrainConfig``), what a task's model is (``TaskSpec``), and a
named training configuration of a task (``NamedConfig``, one or more ``Stage`` runs).

A ``TaskSpec`` says everything export needs to write the model card (inputs, bands, normalisation,
output range, tiling) and everything training needs to make data (synthesis, data sources, losses).
Both are frozen dataclasses saved inside every checkpoint, so ``export`` needs only the checkpoint.
A ``NamedConfig`` is a recipe as data: ``python -m training train --task T --config NAME`` applies
each of its stages to the task spec and runs them in order, each from the previous one's weights.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from backend.model_card import Normalization, SceneContext, TensorSpec, TileSpec

#: Learning-rate schedules of ``TrainConfig.schedule``.
SCHEDULES = ("step", "cosine")

#: The usual input normalisation: joint 0.5-99.5 % stretch of the whole input raster to [0, 1], so
#: uint8 photos and uint16 digital numbers look alike to the network.
PERCENTILE_01 = Normalization(mode="percentile", low=0.5, high=99.5, per_band=False, range=(0.0, 1.0))


@dataclass(frozen=True)
class TrainConfig:
    """One training run's schedule. ``lite`` runs finish on a laptop CPU; ``full`` wants a GPU."""

    steps: int = 2000
    batch_size: int = 4
    crop: int = 128
    lr: float = 2e-4
    #: ``"step"``: the learning rate is multiplied by ``lr_gamma`` at the ``lr_milestones`` fractions
    #: of the run; ``"cosine"``: it falls from ``lr`` to 0 along half a cosine.
    schedule: str = "step"
    lr_milestones: tuple[float, ...] = (0.5, 0.75, 0.9)
    lr_gamma: float = 0.5
    #: Learning-rate multipliers by parameter-name prefix, e.g. ``(("scene.", 10.0),)`` lets a new,
    #: zero-initialised block catch up with fine-tuned weights.
    lr_scales: tuple[tuple[str, float], ...] = ()
    #: A wall-clock budget: the schedule follows the clock and the run ends when the budget is spent
    #: (``steps`` is then only a cap). For a time-boxed CPU run; the step count depends on the machine.
    minutes: float | None = None
    val_every: int = 250
    val_samples: int = 32
    log_every: int = 10
    seed: int = 0
    #: Mixed precision on CUDA (ignored on CPU, where float16 autocast does not pay).
    amp: bool = True
    grad_clip: float | None = 1.0
    #: Weight of the adversarial term; 0 trains without a discriminator.
    adversarial_weight: float = 0.0
    num_workers: int = 0

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.minutes is not None and self.minutes <= 0:
            raise ValueError(f"minutes must be positive, got {self.minutes}")

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with the non-None ``changes`` applied (CLI overrides)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def lr_factor(self, progress: float) -> float:
        """The learning rate's multiplier when ``progress`` (0-1) of the run is done."""
        progress = min(max(progress, 0.0), 1.0)
        if self.schedule == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * progress))
        return self.lr_gamma ** sum(progress >= m for m in self.lr_milestones)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Inverse of ``dataclasses.asdict`` (checkpoints store plain dicts; older ones lack new fields)."""
        data = dict(data)
        data["lr_milestones"] = tuple(data["lr_milestones"])
        data["lr_scales"] = tuple((str(p), float(f)) for p, f in data.get("lr_scales", ()))
        return cls(**data)


@dataclass(frozen=True)
class TaskSpec:
    """What a task's model takes and gives, and how its training pairs are made."""

    task: str
    arch: str
    #: The card's inputs, exactly as the model card will declare them (one definition of a tensor).
    inputs: tuple[TensorSpec, ...]
    output_bands: tuple[str, ...]
    #: Name of a data recipe in ``training.data.recipes`` (which scenes/pairs, which synthesis).
    data: str
    #: Loss name -> weight; see ``training.losses.LOSSES``.
    losses: dict[str, float]
    lite: TrainConfig
    full: TrainConfig
    #: Architecture config preset per training config name, or explicit constructor kwargs.
    arch_config: dict[str, Any] = field(default_factory=lambda: {"lite": "lite", "full": "full"})
    #: Range the network's output covers, in the space of the ``like`` input's normalisation.
    output_range: tuple[float, float] = (0.0, 1.0)
    #: Name of the restored output in the card and the ONNX graph.
    output_name: str = "restored"
    #: Clamp the exported output to ``output_range`` (tanh heads that may overshoot the target).
    clamp_output: bool = True
    #: Also write a mask output of the reconstructed pixels (fill_gaps).
    mask_output: bool = False
    tile: TileSpec = field(default_factory=lambda: TileSpec(multiple=8, default_size=512, overlap=32))
    description: str = ""
    citation: str = ""
    licence: str = "GPL-2.0-or-later"
    #: Keyword overrides of the synthesis config dataclass of the data recipe.
    synthesis: dict[str, Any] = field(default_factory=dict)
    #: Unlabelled real degraded images (``training.data.unlabelled.UNLABELLED_SOURCES``) for a
    #: semi-supervised branch, and its loss weights (``training.semi_supervised``).
    unlabelled: str | None = None
    unsupervised: dict[str, float] = field(default_factory=dict)
    #: Clean imagery must come back unchanged (decloud on a clear scene): ``evaluate`` also runs the
    #: model on the clean test regions and reports how far it moves them.
    clean_passthrough: bool = False
    #: A real degraded scene of ``training.data.real_scenes`` that ``evaluate`` restores for a
    #: qualitative figure and checks against its degradation mask.
    real_scene: str | None = None
    #: For a task that runs in stages (``backend.tasks.Task.stages``): the stage this spec trains
    #: (the card's ``stage``).
    stage: str = ""
    #: Another model of the task beside its default spec, e.g. another band set (decloud's ``s2``):
    #: each variant ships as its own package, and the engine picks among them by band count.
    variant: str = ""

    def __post_init__(self) -> None:
        if self.stage and self.variant:
            raise ValueError(f"spec of {self.task!r}: a stage ({self.stage!r}) has no variants "
                             f"(got {self.variant!r})")

    @property
    def key(self) -> str:
        """``task``, ``task.stage`` or ``task.variant``: the spec's key in ``training.specs.TASK_SPECS``,
        in ``NAMED_CONFIGS`` and in run folder names."""
        name = self.stage or self.variant
        return f"{self.task}.{name}" if name else self.task

    def train_config(self, name: str) -> TrainConfig:
        """The ``lite`` or ``full`` schedule."""
        if name not in ("lite", "full"):
            raise ValueError(f"config must be 'lite' or 'full', got {name!r}")
        return self.lite if name == "lite" else self.full

    @property
    def in_channels(self) -> int:
        return sum(len(spec.bands) for spec in self.inputs)

    @property
    def context_input(self) -> TensorSpec | None:
        """The input that declares a scene context (training feeds the network one vector)."""
        declared = [spec for spec in self.inputs if spec.context is not None]
        if len(declared) > 1:
            raise ValueError(f"task {self.task!r}: only one input may declare a scene context, "
                             f"got {[spec.name for spec in declared]}")
        return declared[0] if declared else None

    @property
    def context_features(self) -> int:
        """Width of the scene-context vector the network takes (0: none)."""
        spec = self.context_input
        return 0 if spec is None else spec.context.width(len(spec.bands))

    @property
    def out_channels(self) -> int:
        return len(self.output_bands)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskSpec:
        """Inverse of ``to_dict`` (checkpoints store specs as plain dicts)."""
        data = dict(data)

        data["inputs"] = tuple(TensorSpec.from_dict(d) for d in data["inputs"])
        data["output_bands"] = tuple(data["output_bands"])
        data["output_range"] = tuple(data["output_range"])
        data["tile"] = TileSpec(**data["tile"])
        for key in ("lite", "full"):
            data[key] = TrainConfig.from_dict(data[key])
        return cls(**data)


#: The presets every task has: ``TaskSpec.lite`` / ``TaskSpec.full`` and the architecture's presets.
PRESETS = ("lite", "full")


@dataclass(frozen=True)
class Stage:
    """One training run of a named config: what it changes in the task spec's ``base`` preset.

    ``train`` overrides ``TrainConfig`` fields, ``arch`` the architecture preset's fields,
    ``synthesis`` the spec's synthesis config (``TaskSpec.synthesis``); ``bands`` replaces the bands
    of the first input and of the output; ``scene_context`` feeds the network these percentiles of
    each band of the whole raster (``backend.model_card.SceneContext``). ``new_blocks`` are
    parameter-name prefixes that the previous stage's weights may lack (a block added here).
    """

    base: str = "lite"
    train: dict[str, Any] = field(default_factory=dict)
    arch: dict[str, Any] = field(default_factory=dict)
    synthesis: dict[str, Any] = field(default_factory=dict)
    bands: tuple[str, ...] | None = None
    scene_context: tuple[float, ...] = ()
    new_blocks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.base not in PRESETS:
            raise ValueError(f"a stage's base must be one of {PRESETS}, got {self.base!r}")

    def apply(self, spec: TaskSpec) -> tuple[TaskSpec, TrainConfig, Any]:
        """The spec, schedule and architecture config this stage trains."""
        first, *rest = spec.inputs
        if self.bands is not None:
            first = dataclasses.replace(first, bands=tuple(self.bands))
        if self.scene_context:
            first = dataclasses.replace(first, context=SceneContext(f"{first.name}_context",
                                                                    tuple(self.scene_context)))
        spec = dataclasses.replace(
            spec, inputs=(first, *rest), output_bands=tuple(self.bands or spec.output_bands),
            synthesis={**spec.synthesis, **self.synthesis},
        )  # fmt: skip
        train = spec.train_config(self.base)
        train = dataclasses.replace(train, **{k: tuple(map(tuple, v)) if k == "lr_scales" else v
                                              for k, v in self.train.items()})  # fmt: skip
        arch = spec.arch_config[self.base]
        if self.arch:
            arch = {"preset": arch, **self.arch} if isinstance(arch, str) else {**arch, **self.arch}
        return spec, train, arch


@dataclass(frozen=True)
class NamedConfig:
    """A task's named training recipe: its stages, run in order, each fine-tuning the weights of the
    previous one's best checkpoint. ``note`` goes into the model card's recipe."""

    stages: tuple[Stage, ...]
    note: str = ""

    def __post_init__(self) -> None:
        if not self.stages:
            raise ValueError("a named config needs at least one stage")
