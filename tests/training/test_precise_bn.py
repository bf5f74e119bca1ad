"""Precise batch norm: the running statistics become the plain average over the given batches."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from training.precise_bn import batch_norm_layers, recompute_batch_norm_statistics

torch.set_num_threads(1)


def _net() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3), nn.ReLU(), nn.Conv2d(3, 1, 1), nn.BatchNorm2d(1)
    )


def _run(model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
    return model(batch)


def test_statistics_are_the_equal_weight_average_over_the_batches_and_only_they_change() -> None:
    torch.manual_seed(0)
    model = _net().eval()
    model[1].momentum = 0.3
    # Two very different kinds of batch: an exponential average would follow the last ones.
    batches = [torch.randn(4, 2, 8, 8) + shift for shift in (0.0, 0.0, 5.0, 5.0, 5.0)]
    learnt = [k for k in model.state_dict() if "running" not in k and "batches" not in k]
    weights = {k: model.state_dict()[k].clone() for k in learnt}

    assert recompute_batch_norm_statistics(model, iter(batches), _run) == 5

    with torch.no_grad():
        features = torch.stack([model[0](b).mean(dim=(0, 2, 3)) for b in batches])
    torch.testing.assert_close(model[1].running_mean, features.mean(0), rtol=1e-5, atol=1e-5)
    assert not model.training and model[1].momentum == 0.3  # mode and momentum restored
    for key, value in weights.items():  # no learnt weight moves
        torch.testing.assert_close(model.state_dict()[key], value)


def test_an_empty_batch_stream_is_refused_before_anything_is_reset() -> None:
    model = _net()
    model[1].running_mean.fill_(2.0)
    with pytest.raises(ValueError, match="at least one batch"):
        recompute_batch_norm_statistics(model, iter([]), _run)
    assert torch.all(model[1].running_mean == 2.0)


def test_layers_without_running_statistics_are_left_alone() -> None:
    model = nn.Sequential(nn.BatchNorm2d(2, track_running_stats=False), nn.InstanceNorm2d(2))
    assert batch_norm_layers(model) == []
    assert recompute_batch_norm_statistics(model, [torch.randn(2, 2, 4, 4)], _run) == 0
