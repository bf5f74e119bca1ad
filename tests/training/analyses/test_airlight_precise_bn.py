"""The airlight and precise-BN analyses run on what their configs train on."""

from __future__ import annotations

import torch

from training.analyses.airlight import airlight_errors
from training.analyses.precise_bn import precise_bn

from ..helpers import save_planned


def test_the_dcp_airlight_estimate_is_scored_against_assuming_grey(shared_data):
    bluish = airlight_errors(shared_data, crop=64, samples=6)
    assert bluish["samples"] == 6 and bluish["config"] == "lite-1.1.0"
    assert bluish["assume_grey"]["median"] > 0.05  # bluish airlights are not grey
    assert 0.0 < bluish["level"]["median"] <= 1.5
    grey = airlight_errors(shared_data, crop=64, samples=6, config="lite")
    assert grey["assume_grey"]["median"] < bluish["assume_grey"]["median"]


def test_precise_bn_changes_only_the_batch_norm_statistics(shared_data, tmp_path):
    from training.chain import plan
    from training.checkpoint import load_checkpoint
    from training.config import NamedConfig, Stage
    from training.specs import get_spec

    (stage,) = plan(get_spec("dehaze"), NamedConfig(stages=(Stage(train={"crop": 32}, arch={"ngf": 8}),)))
    torch.manual_seed(0)
    save_planned(tmp_path / "c.pt", stage, step=3)
    result = precise_bn(tmp_path / "c.pt", shared_data, batches=2, batch_size=2, out=tmp_path / "p.pt")
    assert result["step"] == 3 and result["batches"] == 2
    before, after = load_checkpoint(tmp_path / "c.pt")["model"], load_checkpoint(tmp_path / "p.pt")["model"]
    stats = [k for k in before if k.endswith("running_mean")]
    assert stats and any(not torch.equal(before[k], after[k]) for k in stats)
    weights = [k for k in before if k.endswith(".weight")]
    assert all(torch.equal(before[k], after[k]) for k in weights)
