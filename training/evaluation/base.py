"""What every check gets and gives, the model run through the engine, and the methods it is scored with."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from backend.registry import resolve_model

from ..baselines import BASELINES
from ..evaluate import (
    EXTRA_METRICS,
    INPUT_METHOD,
    input_baseline,
    mean_scores,
    means_rows,
    restore_file,
    score,
)
from ..evaluate import restore_with_engine as _restore_with_engine
from ..synthesis.base import Degradation


class EngineModel:
    """A model package run through ``backend.pipeline.restore``, as users run it, on arrays: each call
    writes the inputs as GeoTIFFs, restores them (the card's tiling unless told otherwise) and reads
    the float output back. ``input``, ``output`` and ``bands`` are those of its card."""

    def __init__(self, task: str, model: str | Path | None = None) -> None:
        info = resolve_model(task, model)
        self.task, self.name, self.path, self.card = task, info.name, info.path, info.card
        self.input, self.output = self.card.inputs[0], self.card.outputs[0]
        self.bands = tuple(self.input.bands)
        #: The model's name among the methods of a table.
        self.method = f"{self.name} (model)"

    def restore(self, deg: Degradation, **options) -> np.ndarray:
        """The engine's output for the degraded inputs of ``deg`` (``options``: ``restore_file``'s)."""
        with tempfile.TemporaryDirectory() as tmp:
            return _restore_with_engine(self.task, self.path, deg, Path(tmp), **options)

    def __call__(self, image: np.ndarray, **options) -> np.ndarray:
        """The engine's output for one optical (C, H, W) image."""
        return self.restore(Degradation({"optical": image}, image), **options)

    def restore_file(self, inputs: Mapping[str, Path], out: Path, **options) -> tuple[np.ndarray, int]:
        """The engine on rasters already on disk (role -> path): output and number of tiles."""
        return restore_file(self.task, self.path, inputs, out, device="cpu", **options)


@dataclass(frozen=True)
class CheckContext:
    """What a check runs on: the model, the held-out test regions of the task's recipe (drawn once,
    by ``training.data.recipes.evaluation_regions``), the data root and the output folder."""

    task: str
    model: EngineModel
    regions: tuple[tuple[str, Degradation], ...]
    data_root: Path
    out_dir: Path
    figures: bool = True
    #: ``--limit``: a quick run; checks with sets of their own shorten them too.
    limit: int | None = None
    seed: int = 0


@dataclass(frozen=True)
class CheckResult:
    """A check's numbers (into ``<task>.json`` under ``checks``), its section of ``<task>.md`` and
    the figures it wrote."""

    name: str
    data: dict
    markdown: str = ""
    figures: tuple[Path, ...] = field(default=())


Check = Callable[[CheckContext], CheckResult]


def run_methods(ctx: CheckContext, deg: Degradation, *, with_input: bool = True,
                **options) -> dict[str, np.ndarray]:  # fmt: skip
    """The degraded input (unless ``with_input`` is false: when it is the reference itself), each
    baseline of the task that applies, and the model through the engine, on ``deg``."""
    results = {INPUT_METHOD: input_baseline(deg)} if with_input else {}
    for name, baseline in BASELINES.get(ctx.task, {}).items():
        result = baseline(deg.inputs)
        if result is not None:
            results[name] = result
    results[ctx.model.method] = ctx.model.restore(deg, **options)
    return results


def score_all(task: str, results: Mapping[str, np.ndarray],
              target: np.ndarray) -> dict[str, dict[str, float]]:  # fmt: skip
    """Every method's scores against ``target``, with the task's own metrics."""
    return {m: score(r, target, extra=EXTRA_METRICS.get(task)) for m, r in results.items()}


def with_optical(deg: Degradation, optical: np.ndarray, target: np.ndarray) -> Degradation:
    """``deg`` with another optical input and target (its other inputs kept)."""
    return dataclasses.replace(deg, inputs={**deg.inputs, "optical": optical}, target=target)


def means_section(title: str, means: dict[str, dict[str, float]], note: str = "") -> str:
    """A Markdown section: a heading, the table of mean scores and a note."""
    return "\n".join([f"### {title}", "", *means_rows(means), *(["", note] if note else []), "", ""])


__all__ = ["Check", "CheckContext", "CheckResult", "EngineModel", "mean_scores", "means_section",
           "run_methods", "score_all", "with_optical"]  # fmt: skip
