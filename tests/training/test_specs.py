"""One keyed registry of training specs: a task, each stage of a staged task, each variant."""

from __future__ import annotations

import pytest

from training.config import TaskSpec
from training.specs import TASK_SPECS, get_spec, variants


def test_every_spec_is_filed_under_its_own_key():
    assert all(key == spec.key for key, spec in TASK_SPECS.items())
    expected = {"dehaze", "derain_fuse.derain", "derain_fuse.fuse", "decloud.s2", "decloud.s2_sar"}
    assert expected <= set(TASK_SPECS)


def test_stages_and_variants_are_named_one_way():
    s2 = get_spec("decloud", variant="s2")
    assert s2.key == "decloud.s2" and get_spec("decloud.s2") is s2 and len(s2.output_bands) == 13
    assert get_spec("derain_fuse.fuse") is get_spec("derain_fuse", "fuse")
    assert variants("decloud") == ("s2", "s2_sar") and variants("dehaze") == ()
    with pytest.raises(KeyError, match="no variant 'rgbn'; known: s2, s2_sar"):
        get_spec("decloud", variant="rgbn")
    with pytest.raises(KeyError, match="runs in stages"):
        get_spec("derain_fuse")
    with pytest.raises(KeyError, match="not both"):
        get_spec("derain_fuse", "fuse", variant="s2")


def test_a_spec_is_a_stage_or_a_variant_not_both():
    import dataclasses

    with pytest.raises(ValueError, match="has no variants"):
        dataclasses.replace(get_spec("derain_fuse", "fuse"), variant="x")
    assert isinstance(TaskSpec.from_dict(get_spec("decloud.s2").to_dict()), TaskSpec)
