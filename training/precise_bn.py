"""Precise batch-norm statistics: recompute the running mean and variance at the final weights.

During training, batch norm's running statistics are an exponential average over the last few dozen
batches, each taken with the weights of its own step. When the training samples mix very different
kinds (two haze recipes, light and thick haze), that average follows whichever kind the last batches
drew, and the model in eval mode - a fixed affine map, the reason the shipped model uses batch norm
(tile invariance) - normalises with the wrong statistics. Recomputing them as a plain average over
many batches at the final weights ("precise BN", Wu & Johnson 2021, *Rethinking "Batch" in
BatchNorm*) removes that noise without touching a learnt weight.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable

import torch
from torch import nn

_BatchNorm = nn.modules.batchnorm._BatchNorm


def batch_norm_layers(model: nn.Module) -> list[_BatchNorm]:
    """The model's batch-norm layers that keep running statistics."""
    return [m for m in model.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]


@torch.no_grad()
def recompute_batch_norm_statistics(
    model: nn.Module, batches: Iterable[object], forward: Callable[[nn.Module, object], object]
) -> int:
    """Replace every batch-norm layer's running mean/variance by the average over ``batches``.

    ``forward(model, batch)`` runs the model on one batch. Each batch is weighted equally (PyTorch's
    cumulative average, ``momentum=None``). Only the running statistics change; the model's
    train/eval mode and each layer's momentum are restored. Returns the number of batches used.
    """
    layers = batch_norm_layers(model)
    iterator = iter(batches)
    first = next(iterator, None)
    if first is None:  # checked before anything is reset: the model is left as it was
        raise ValueError("precise batch norm needs at least one batch")
    if not layers:
        return 0
    was_training = model.training
    momenta = [layer.momentum for layer in layers]
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None  # cumulative moving average: every batch counts the same
    model.train()
    count = 0
    try:
        for batch in itertools.chain([first], iterator):
            forward(model, batch)
            count += 1
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum
        model.train(was_training)
    return count
