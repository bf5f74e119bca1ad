"""Every shipped model's card says what its training spec says: one source for tiling, bands,
normalisation and output range (a card written by hand or by an old script would drift)."""

from __future__ import annotations

import pytest

from backend.package import read_card
from backend.registry import read_index, shipped_models_dir
from training.specs import SPEC_VARIANTS, get_spec

SHIPPED = [entry["file"] for entry in read_index(shipped_models_dir())]


def _spec_for(card):
    """The task's spec, or its variant whose inputs have the card's bands."""
    specs = [get_spec(card.task, card.stage or None), *SPEC_VARIANTS.get(card.task, {}).values()]
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
