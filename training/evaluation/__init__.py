"""Checks a task's evaluation runs beyond its table of test regions, by task (``EXTRA_CHECKS``).

``python -m training evaluate --task T`` scores the held-out test regions of the task's recipe
(``training.evaluate``), then runs each check of ``EXTRA_CHECKS[T]`` on the same regions and model:
each adds its numbers to ``<out>/<task>.json`` (under ``checks``), its section to ``<out>/<task>.md``
and its figures. Where ``CARD_METRICS`` has the task, ``<out>/<task>_card_metrics.json`` is the
summary for the model card. A task's spec turns on the checks every task may have
(``clean_passthrough``, ``real_scene``); these are the ones that need a task's own data.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from ..synthesis.base import Degradation
from .base import Check, CheckContext, CheckResult, EngineModel
from .card import dehaze_card_metrics
from .held_out import band_gain, clear, held_out_figure, rs_recipe
from .multispectral import multispectral_bands
from .real_hazy import real_hazy_scenes
from .rs_haze_pair import rs_haze_sample

EXTRA_CHECKS: dict[str, tuple[Check, ...]] = {
    "dehaze": (held_out_figure, clear, band_gain, rs_recipe, rs_haze_sample, real_hazy_scenes,
               multispectral_bands),
}

#: The card's summary of ``<task>.json`` (with the command that produced it), by task.
CARD_METRICS: dict[str, Callable[[dict, str], dict]] = {"dehaze": dehaze_card_metrics}


def run_checks(task: str, model: str | Path | None, regions: Sequence[tuple[str, Degradation]],
               data_root: Path, out_dir: Path, *, figures: bool = True, limit: int | None = None,
               command: str = "") -> str:  # fmt: skip
    """Run the task's checks; add their numbers to ``<task>.json`` and write the card's summary.
    Returns their Markdown sections (empty for a task without checks)."""
    checks = EXTRA_CHECKS.get(task, ())
    if not checks:
        return ""
    ctx = CheckContext(task, EngineModel(task, model), tuple(regions), data_root, out_dir, figures, limit)
    results = []
    for check in checks:
        results.append(check(ctx))
        print(f"check {results[-1].name} done", flush=True)
    path = out_dir / f"{task}.json"
    saved = json.loads(path.read_text())
    saved["checks"] = {r.name: r.data for r in results if r.data and r.name != "figure"}
    saved["figures"] = sorted(p.name for r in results for p in r.figures)
    path.write_text(json.dumps(saved, indent=2) + "\n")
    if task in CARD_METRICS:
        card = CARD_METRICS[task](saved, command)
        (out_dir / f"{task}_card_metrics.json").write_text(json.dumps(card, indent=2) + "\n")
    return "\n" + "".join(r.markdown for r in results)


__all__ = ["CARD_METRICS", "EXTRA_CHECKS", "CheckContext", "CheckResult", "EngineModel", "run_checks"]
