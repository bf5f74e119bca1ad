"""Every shipped model's card says what its training spec says: one source for tiling, bands,
normalisation and output range (a card written by hand or by an old script would drift)."""

from __future__ import annotations

import json
import re

import pytest

from backend.package import read_card
from backend.registry import read_index, shipped_models_dir
from training.specs import TASK_SPECS, get_spec

from .helpers import save_planned

SHIPPED = [entry["file"] for entry in read_index(shipped_models_dir())]


def _spec_for(card):
    """The task's spec, or its variant whose inputs have the card's bands."""
    specs = [s for s in TASK_SPECS.values() if s.task == card.task and s.stage == card.stage]
    bands = [tuple(s.bands) for s in card.inputs]
    matches = [s for s in specs if [tuple(i.bands) for i in s.inputs] == bands]
    assert matches, f"{card.name}: no spec of {card.task!r} has inputs {bands}"
    return matches[0]


@pytest.mark.parametrize("file", SHIPPED)
def test_the_card_of_a_shipped_model_agrees_with_its_spec(file):
    card = read_card(shipped_models_dir() / file)
    spec = _spec_for(card)
    assert card.tile == spec.tile
    for tensor, declared in zip(card.inputs, spec.inputs, strict=True):
        assert (tensor.name, tensor.role, tensor.normalization) == (declared.name, declared.role,
                                                                    declared.normalization)
    main = next(o for o in card.outputs if o.role != "mask")
    assert tuple(main.bands) == tuple(spec.output_bands) and tuple(main.range) == tuple(spec.output_range)


def test_export_of_the_shipped_dehaze_recipe_writes_the_shipped_card(tmp_path):
    """The shipped dehaze card is what ``python -m training export`` writes for a checkpoint of its
    named config (``lite-1.1.0``, four stages): nothing in it was written by hand."""
    import dataclasses

    from training.chain import chain_entry, plan, stage_metadata
    from training.export import export_checkpoint
    from training.specs import get_config

    shipped = read_card(shipped_models_dir() / "dehaze-hsmr-lite.onnx")
    named = get_config("dehaze", "lite-1.1.0")
    stages = plan(get_spec("dehaze"), named)
    steps = [int(s) for s in re.findall(r"; (\d+) steps", shipped.training_recipe)]
    assert len(steps) == len(stages) == 4
    chain = [chain_entry(stage, step) for stage, step in zip(stages[:-1], steps[:-1], strict=True)]
    checkpoint = tmp_path / "best.pt"
    save_planned(checkpoint, stages[-1], step=steps[-1],
                 **stage_metadata("lite-1.1.0", named.note, 4, chain, tmp_path / "stage3" / "best.pt"))
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps(shipped.metrics))
    report = export_checkpoint(checkpoint, tmp_path / "dehaze-hsmr-lite.onnx", version=shipped.version,
                               metrics_json=str(metrics))  # fmt: skip
    assert dataclasses.asdict(report.card) == dataclasses.asdict(shipped)


def test_a_card_is_rewritten_without_touching_the_weights(tmp_path):
    import dataclasses
    import shutil

    import onnx

    from training.export import recard_package

    package = tmp_path / "dehaze-hsmr-lite.onnx"
    shutil.copy(shipped_models_dir() / "dehaze-hsmr-lite.onnx", package)
    shipped = read_card(package)
    steps = [int(s) for s in re.findall(r"; (\d+) steps", shipped.training_recipe)]
    card = recard_package(package, get_spec("dehaze"), config="lite-1.1.0", steps=steps,
                          metrics={"psnr": 1.0})
    assert read_card(package) == card and card.metrics == {"psnr": 1.0}
    assert dataclasses.replace(card, metrics=shipped.metrics) == shipped
    assert onnx.load(str(package)).graph == onnx.load(str(shipped_models_dir() / package.name)).graph
    with pytest.raises(ValueError, match="is not a model of config"):
        recard_package(package, get_spec("desand"), config="lite", steps=[1])
    with pytest.raises(ValueError, match="4 stages"):
        recard_package(package, get_spec("dehaze"), config="lite-1.1.0", steps=[1])
    assert read_card(package) == card  # a refused rewrite changes nothing
