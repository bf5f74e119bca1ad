"""Benchmark model packages built with ``onnx.helper``: a small CNN and an identity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from backend.model_card import ModelCard, Normalization, TensorSpec, TileSpec
from backend.package import embed_card

BANDS = ("red", "green", "blue")
NORM = Normalization(mode="percentile", low=1.0, high=99.0, range=(0.0, 1.0))
TILE = TileSpec(multiple=8, default_size=512, overlap=32, receptive_field=7)


def _value(name: str) -> object:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", 3, "H", "W"])


def _card(name: str, architecture: str) -> ModelCard:
    return ModelCard(task="dehaze", name=name, version="1", architecture=architecture,
                     inputs=(TensorSpec("optical", "optical", BANDS, NORM),),
                     outputs=(TensorSpec("restored", "optical", BANDS, like="optical"),), tile=TILE,
                     description="benchmark model with random weights")


def _save(graph: object, card: ModelCard, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return embed_card(model, card, path)


def small_cnn(path: Path, width: int = 16, seed: int = 0) -> Path:
    """3 -> width -> width -> 3 channels, 3x3 convolutions with ReLU: about 2.8k MACs per pixel."""
    rng = np.random.default_rng(seed)
    chans = [3, width, width, 3]
    nodes, inits, current = [], [], "optical"
    for k in range(3):
        w = (rng.normal(size=(chans[k + 1], chans[k], 3, 3)) / np.sqrt(9 * chans[k])).astype(np.float32)
        b = np.zeros(chans[k + 1], np.float32)
        inits += [numpy_helper.from_array(w, f"w{k}"), numpy_helper.from_array(b, f"b{k}")]
        conv = f"c{k}" if k < 2 else "restored"
        nodes.append(helper.make_node("Conv", [current, f"w{k}", f"b{k}"], [conv], pads=[1, 1, 1, 1],
                                      kernel_shape=[3, 3]))
        if k < 2:
            nodes.append(helper.make_node("Relu", [conv], [f"r{k}"]))
            current = f"r{k}"
    graph = helper.make_graph(nodes, "small_cnn", [_value("optical")], [_value("restored")],
                              initializer=inits)
    return _save(graph, _card("bench-small-cnn", "3-layer CNN"), path)


def identity(path: Path) -> Path:
    graph = helper.make_graph([helper.make_node("Identity", ["optical"], ["restored"])], "identity",
                              [_value("optical")], [_value("restored")])
    return _save(graph, _card("bench-identity", "identity"), path)
