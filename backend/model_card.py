"""The model card: what a model package promises about its inputs, outputs, tiling and provenance.

A model package is an ONNX file whose metadata entry ``restore_model_card`` holds this card as JSON.
This module is the only definition of the schema: the backend validates cards with it when loading,
and the training package builds and validates cards with it when exporting.

Value normalisation maps raster values to what the network sees:

* ``fixed``: ``x_model = x * scale + offset`` (e.g. uint8 photos: ``scale = 1/255``).
* ``percentile``: a robust stretch; the ``low``/``high`` percentiles of the *whole raster* (never a
  tile: that makes seams) are mapped to ``range``. ``per_band`` stretches each band on its own,
  otherwise one joint stretch keeps the colour balance.
* ``scale``: a robust gain with no offset; raster value 0 goes to ``range[0]`` and the ``high``
  percentile of the whole raster to ``range[1]`` (``low`` is unused). For models whose input carries
  meaning in its distance from zero, e.g. a dehazer that must see the haze's additive floor, which a
  ``percentile`` stretch would remove.

An output is mapped back to raster values by the inverse of the normalisation of the input named in
its ``like`` field, after its ``range`` is mapped onto that input's ``range``.

An input may also declare a **scene context** (:class:`SceneContext`): per-band percentiles of the
whole raster, normalised like the input, fed to the network as a second tensor of shape (N, K).
A tile alone cannot tell how much haze a scene has; the scene's statistics can, and like the
normalisation's they are computed once per raster, so every tile sees the same values.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import ModelCardError
from .tasks import BAND_NAMES, ROLES, TASKS
from .tiling import overlap_fits

#: Version 2 added the scene context; a version-1 card (no context) is read as it always was.
#: Version 3 added the ``stage`` of a staged task (only a stage model's card needs it and says 3;
#: a card without a stage leaves the field out, so older readers still take it).
SCHEMA_VERSION = 2
STAGE_SCHEMA_VERSION = 3
SUPPORTED_SCHEMA_VERSIONS = (1, 2, 3)
#: The ONNX metadata key that holds the card.
METADATA_KEY = "restore_model_card"
NORMALIZATION_MODES = ("fixed", "percentile", "scale")
#: Largest tile edge a card may ask for (``backend.budget.MAX_TILE_SIZE`` holds the engine to it too).
MAX_TILE_SIZE = 4096


@dataclass(frozen=True)
class Normalization:
    """How raster values of one input are mapped to the network's value range."""

    mode: str = "fixed"
    scale: float = 1.0
    offset: float = 0.0
    low: float = 0.5
    high: float = 99.5
    per_band: bool = False
    range: tuple[float, float] = (0.0, 1.0)


@dataclass(frozen=True)
class SceneContext:
    """A second network input with statistics of the whole input raster, in model units.

    ``name`` is the ONNX tensor, shape (N, len(percentiles) * bands): each percentile of every band
    over the raster's valid pixels, normalised like the input, percentile by percentile
    (p1 red, p1 green, p1 blue, p50 red, ...).
    """

    name: str
    percentiles: tuple[float, ...]

    def width(self, bands: int) -> int:
        """K, the tensor's second dimension, for an input of ``bands`` bands."""
        return len(self.percentiles) * bands


@dataclass(frozen=True)
class TensorSpec:
    """One network input or output: ONNX tensor name, role, ordered band names."""

    name: str
    role: str
    bands: tuple[str, ...]
    normalization: Normalization | None = None
    #: Outputs only: the value range the network produces, and the input whose normalisation
    #: maps it back to raster values (``None`` for masks, which are written as 0..1 floats or 0/1).
    range: tuple[float, float] = (0.0, 1.0)
    like: str | None = None
    #: Inputs only: a model that can run without this input (e.g. SAR for decloud).
    optional: bool = False
    #: Inputs only: statistics of the whole raster fed as a second tensor (see ``SceneContext``).
    context: SceneContext | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TensorSpec:
        """Inverse of ``asdict`` (cards and training checkpoints store tensors as plain dicts)."""
        norm = data.get("normalization")
        if norm is not None:
            norm = dict(norm)
            if "range" in norm:
                norm["range"] = tuple(norm["range"])
            norm = Normalization(**norm)
        fields = dict(data)
        fields["normalization"] = norm
        context = data.get("context")
        if context is not None:
            if not isinstance(context, dict):
                raise ModelCardError(f"tensor {data.get('name')!r}: context must be an object")
            context = SceneContext(**{**context, "percentiles": tuple(context.get("percentiles", ()))})
        fields["context"] = context
        fields["bands"] = tuple(data.get("bands", ()))
        if "range" in fields:
            fields["range"] = tuple(fields["range"])
        return cls(**fields)


@dataclass(frozen=True)
class TileSpec:
    """How the engine should tile: sizes are multiples of ``multiple``; overlap is the halo."""

    multiple: int = 8
    default_size: int = 512
    overlap: int = 32
    receptive_field: int | None = None


@dataclass(frozen=True)
class ModelCard:
    """Everything the backend and the user need to know about a model package."""

    task: str
    name: str
    version: str
    architecture: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    tile: TileSpec = field(default_factory=TileSpec)
    citation: str = ""
    description: str = ""
    training_data: tuple[str, ...] = ()
    training_recipe: str = ""
    licence: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    parameters: int | None = None
    #: For a task that runs in stages (``backend.tasks.Task.stages``): the stage this model does;
    #: empty for a model that does the whole task.
    stage: str = ""
    schema_version: int = SCHEMA_VERSION

    # -- views ---------------------------------------------------------------------------------
    def input(self, role: str) -> TensorSpec | None:
        """The first input with ``role``, or ``None``."""
        return next((spec for spec in self.inputs if spec.role == role), None)

    def output(self, role: str) -> TensorSpec | None:
        """The first output with ``role``, or ``None``."""
        return next((spec for spec in self.outputs if spec.role == role), None)

    @property
    def optical_bands(self) -> tuple[str, ...]:
        """The bands the optical input takes, in order (what a raster's band count is matched with)."""
        spec = self.input("optical")
        return spec.bands if spec is not None else ()

    # -- (de)serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if not self.stage:
            del data["stage"]
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelCard:
        """Build and validate a card from parsed JSON; raises ``ModelCardError`` naming the field."""
        if not isinstance(data, dict):
            raise ModelCardError("model card must be a JSON object")
        version = data.get("schema_version")
        if version not in SUPPORTED_SCHEMA_VERSIONS:
            raise ModelCardError(
                f"model card schema_version {version!r} is not supported (expected one of "
                f"{', '.join(map(str, SUPPORTED_SCHEMA_VERSIONS))}): a newer plugin may read it"
            )
        try:
            card = cls(
                task=data["task"],
                name=data["name"],
                version=str(data["version"]),
                architecture=data["architecture"],
                inputs=tuple(TensorSpec.from_dict(d) for d in data["inputs"]),
                outputs=tuple(TensorSpec.from_dict(d) for d in data["outputs"]),
                tile=TileSpec(**data.get("tile", {})),
                citation=data.get("citation", ""),
                description=data.get("description", ""),
                training_data=tuple(data.get("training_data", ())),
                training_recipe=data.get("training_recipe", ""),
                licence=data.get("licence", ""),
                metrics=dict(data.get("metrics", {})),
                parameters=data.get("parameters"),
                stage=data.get("stage", ""),
                schema_version=version,
            )
        except KeyError as exc:
            raise ModelCardError(f"model card is missing the field {exc.args[0]!r}") from None
        except TypeError as exc:
            raise ModelCardError(f"model card has an unexpected field: {exc}") from None
        validate(card)
        return card

    @classmethod
    def from_json(cls, text: str) -> ModelCard:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelCardError(f"model card is not valid JSON: {exc}") from None
        return cls.from_dict(data)


def validate(card: ModelCard) -> None:
    """Check the card's internal consistency; raise ``ModelCardError`` naming the first problem."""
    if card.task not in TASKS:
        raise ModelCardError(f"model card task {card.task!r} is not one of {', '.join(TASKS)}")
    if not card.name or not card.version:
        raise ModelCardError("model card needs a non-empty name and version")
    if not card.inputs or not card.outputs:
        raise ModelCardError("model card needs at least one input and one output")
    names = [spec.name for spec in card.inputs + card.outputs]
    names += [spec.context.name for spec in card.inputs if spec.context is not None]
    if len(set(names)) != len(names):
        raise ModelCardError(f"model card tensor names are not unique: {names}")
    input_names = {spec.name for spec in card.inputs}
    for spec in card.inputs + card.outputs:
        where = f"tensor {spec.name!r}"
        if spec.role not in ROLES:
            raise ModelCardError(f"{where}: role {spec.role!r} is not one of {', '.join(ROLES)}")
        if not spec.bands:
            raise ModelCardError(f"{where}: needs at least one band name")
        unknown = [b for b in spec.bands if b not in BAND_NAMES]
        if unknown:
            raise ModelCardError(f"{where}: unknown band names {unknown}")
        lo, hi = spec.range
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ModelCardError(f"{where}: range must be two finite increasing numbers")
    for spec in card.inputs:
        if spec.role != "mask" and spec.normalization is None:
            raise ModelCardError(f"input {spec.name!r}: needs a normalization")
        if spec.normalization is not None:
            _validate_normalization(spec.name, spec.normalization)
        if spec.context is not None:
            if card.schema_version < 2:
                raise ModelCardError(f"input {spec.name!r}: a scene context needs schema_version 2")
            _validate_context(spec)
    for spec in card.outputs:
        if spec.context is not None:
            raise ModelCardError(f"output {spec.name!r}: only inputs take a scene context")
        if spec.role != "mask" and spec.like not in input_names:
            raise ModelCardError(
                f"output {spec.name!r}: 'like' must name an input, got {spec.like!r}"
            )
    task_roles = {slot.role for slot in TASKS[card.task].inputs}
    for spec in card.inputs:
        if spec.role not in task_roles:
            raise ModelCardError(
                f"input {spec.name!r}: role {spec.role!r} is not an input of task {card.task!r}"
            )
    stages = TASKS[card.task].stages
    if not isinstance(card.stage, str) or (card.stage and card.stage not in stages):
        known = f"one of {', '.join(stages)} or empty" if stages else "empty (the task has no stages)"
        raise ModelCardError(f"model card stage {card.stage!r} is not a stage of task {card.task!r}: "
                             f"it must be {known}")
    if card.stage and card.schema_version < STAGE_SCHEMA_VERSION:
        raise ModelCardError(f"model card stage {card.stage!r} needs schema_version {STAGE_SCHEMA_VERSION}")
    tile = card.tile
    if tile.multiple < 1 or tile.default_size < tile.multiple or tile.default_size % tile.multiple:
        raise ModelCardError("tile: default_size must be a positive multiple of 'multiple'")
    if tile.default_size > MAX_TILE_SIZE:
        raise ModelCardError(f"tile: default_size {tile.default_size} is above the limit of "
                             f"{MAX_TILE_SIZE} px")
    if not overlap_fits(tile.overlap, tile.default_size):
        raise ModelCardError("tile: overlap must be >= 0 and less than half the default size")


def _validate_normalization(name: str, norm: Normalization) -> None:
    where = f"input {name!r} normalization"
    if norm.mode not in NORMALIZATION_MODES:
        raise ModelCardError(f"{where}: mode {norm.mode!r} is not one of {NORMALIZATION_MODES}")
    lo, hi = norm.range
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ModelCardError(f"{where}: range must be two finite increasing numbers")
    for key in ("scale", "offset", "low", "high"):
        value = getattr(norm, key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ModelCardError(f"{where}: {key} must be a finite number, got {value!r}")
    if norm.mode == "fixed" and not (math.isfinite(norm.scale) and norm.scale != 0):
        raise ModelCardError(f"{where}: scale must be finite and non-zero")
    if norm.mode == "percentile" and not 0 <= norm.low < norm.high <= 100:
        raise ModelCardError(f"{where}: percentiles need 0 <= low < high <= 100")
    if norm.mode == "scale" and not 0 < norm.high <= 100:
        raise ModelCardError(f"{where}: the scale percentile needs 0 < high <= 100")


def _validate_context(spec: TensorSpec) -> None:
    where = f"input {spec.name!r} context"
    context = spec.context
    if spec.normalization is None:
        raise ModelCardError(f"{where}: needs the input's normalization")
    if not context.name:
        raise ModelCardError(f"{where}: needs a tensor name")
    if not context.percentiles or not all(
        isinstance(p, (int, float)) and 0 <= p <= 100 for p in context.percentiles
    ):
        raise ModelCardError(f"{where}: percentiles must be numbers between 0 and 100")
