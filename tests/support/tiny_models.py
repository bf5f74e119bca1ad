"""Tiny ONNX model packages built with ``onnx.helper`` (no torch): fast, exact test doubles.

Every builder writes a valid package (card embedded and validated) and returns its path. Tensors are
``(N, C, H, W)`` with dynamic batch and size, so the engine can tile them freely.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from backend.model_card import (
    SCHEMA_VERSION,
    STAGE_SCHEMA_VERSION,
    ModelCard,
    Normalization,
    SceneContext,
    TensorSpec,
    TileSpec,
)
from backend.package import embed_card

OPSET = 17
#: Sentinel-2 order; the first ``n`` names describe an ``n``-band test raster.
S2_BANDS = ("coastal", "blue", "green", "red", "rededge1", "rededge2", "rededge3", "nir", "nir08",
            "watervapour", "cirrus", "swir1", "swir2")  # fmt: skip
UNIT = Normalization()  # fixed, scale 1, offset 0: raster values pass through unchanged


def band_names(bands: int) -> tuple[str, ...]:
    if bands == 1:
        return ("gray",)
    if bands == 3:
        return ("red", "green", "blue")
    if bands <= len(S2_BANDS):
        return S2_BANDS[:bands]
    raise ValueError(f"no test band names for {bands} bands")


def _value_info(name: str, channels: int) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", channels, "H", "W"])


def _save(graph: onnx.GraphProto, card: ModelCard, path: str | os.PathLike[str]) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="tests.support.tiny_models")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return embed_card(model, card, path)


def _card(task: str, name: str, inputs: tuple[TensorSpec, ...], outputs: tuple[TensorSpec, ...],
          tile: TileSpec | None, architecture: str, stage: str = "") -> ModelCard:
    return ModelCard(task=task, name=name, version="0.0.1", architecture=architecture, inputs=inputs,
                     outputs=outputs, tile=tile or TileSpec(multiple=8, default_size=64, overlap=8),
                     description="test double", licence="CC0-1.0", stage=stage,
                     schema_version=STAGE_SCHEMA_VERSION if stage else SCHEMA_VERSION)


def identity_model(path: str | os.PathLike[str], task: str = "dehaze", bands: int = 3,
                   normalization: Normalization = UNIT, tile: TileSpec | None = None,
                   name: str = "test-identity") -> Path:
    """``restored = optical``: the engine must reproduce the input exactly."""
    names = band_names(bands)
    graph = helper.make_graph(
        [helper.make_node("Identity", ["optical"], ["restored"])], "identity",
        [_value_info("optical", bands)], [_value_info("restored", bands)],
    )
    card = _card(task, name, (TensorSpec("optical", "optical", names, normalization),),
                 (TensorSpec("restored", "optical", names, like="optical",
                             range=normalization.range),), tile, "identity")
    return _save(graph, card, path)


def conv3x3_weights(bands: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    weight = rng.normal(0.0, 0.3, size=(bands, bands, 3, 3)).astype(np.float32)
    bias = rng.normal(0.0, 0.1, size=(bands,)).astype(np.float32)
    return weight, bias


def conv3x3_model(path: str | os.PathLike[str], task: str = "dehaze", bands: int = 3, seed: int = 0,
                  normalization: Normalization = UNIT, tile: TileSpec | None = None,
                  layers: int = 1, name: str = "test-conv3x3") -> Path:
    """``layers`` fixed random 3x3 convolutions (zero padded): translation-equivariant away from edges.

    Its receptive field is ``2 * layers + 1`` pixels, declared in the card so the engine discards
    the tile border the zero padding corrupts.
    """
    nodes, inits = [], []
    current = "optical"
    for layer in range(layers):
        weight, bias = conv3x3_weights(bands, seed + layer)
        inits += [numpy_helper.from_array(weight, f"w{layer}"), numpy_helper.from_array(bias, f"b{layer}")]
        out = "restored" if layer == layers - 1 else f"h{layer}"
        nodes.append(helper.make_node("Conv", [current, f"w{layer}", f"b{layer}"], [out],
                                      kernel_shape=[3, 3], pads=[1, 1, 1, 1]))
        current = out
    graph = helper.make_graph(nodes, "conv3x3", [_value_info("optical", bands)],
                              [_value_info("restored", bands)], initializer=inits)
    names = band_names(bands)
    tile = tile or TileSpec(multiple=8, default_size=64, overlap=8, receptive_field=2 * layers + 1)
    card = _card(task, name, (TensorSpec("optical", "optical", names, normalization),),
                 (TensorSpec("restored", "optical", names, like="optical", range=normalization.range),),
                 tile, "conv3x3")
    return _save(graph, card, path)


def box_mean_model(path: str | os.PathLike[str], size: int = 5, normalization: Normalization = UNIT,
                   name: str = "test-box-mean") -> Path:
    """Each band averaged over a ``size`` x ``size`` window: shows what the model sees at nodata."""
    bands = 3
    names = band_names(bands)
    half = size // 2
    graph = helper.make_graph(
        [helper.make_node("AveragePool", ["optical"], ["restored"], kernel_shape=[size, size],
                          pads=[half] * 4, count_include_pad=0)],
        "box_mean", [_value_info("optical", bands)], [_value_info("restored", bands)],
    )
    tile = TileSpec(multiple=8, default_size=64, overlap=8, receptive_field=size)
    card = _card("dehaze", name, (TensorSpec("optical", "optical", names, normalization),),
                 (TensorSpec("restored", "optical", names, like="optical", range=normalization.range),),
                 tile, "box_mean")
    return _save(graph, card, path)


def mask_fill_model(path: str | os.PathLike[str], bands: int = 3, fill: float = 0.5,
                    normalization: Normalization = UNIT, tile: TileSpec | None = None,
                    name: str = "test-mask-fill") -> Path:
    """fill_gaps: ``restored = optical * (1 - mask) + fill * mask`` (mask is 1 where data is missing)."""
    nodes = [
        helper.make_node("Sub", ["one", "mask"], ["keep"]),
        helper.make_node("Mul", ["optical", "keep"], ["kept"]),
        helper.make_node("Mul", ["mask", "fill"], ["filled"]),
        helper.make_node("Add", ["kept", "filled"], ["restored"]),
    ]
    inits = [numpy_helper.from_array(np.array(1.0, np.float32), "one"),
             numpy_helper.from_array(np.array(fill, np.float32), "fill")]
    graph = helper.make_graph(nodes, "mask_fill", [_value_info("optical", bands), _value_info("mask", 1)],
                              [_value_info("restored", bands)], initializer=inits)
    names = band_names(bands)
    card = _card("fill_gaps", name,
                 (TensorSpec("optical", "optical", names, normalization),
                  TensorSpec("mask", "mask", ("mask",))),
                 (TensorSpec("restored", "optical", names, like="optical", range=normalization.range),),
                 tile, "mask-fill")
    return _save(graph, card, path)


def reference_fill_model(path: str | os.PathLike[str], fill: float = 0.5,
                         normalization: Normalization = UNIT, name: str = "test-reference-fill") -> Path:
    """fill_gaps with validity planes (``backend.tasks.VALIDITY_BAND``): inputs ``image`` (3 bands),
    ``gaps`` (mask, known) and ``reference`` (3 bands, valid). Gaps take the reference where it is
    valid, else ``fill``; and ``0.125 * (1 - known)`` is added everywhere, so a test sees where the
    engine said the mask is unknown."""
    nodes = [
        helper.make_node("Split", ["gaps", "halves"], ["mask", "known"], axis=1),
        helper.make_node("Split", ["reference", "ref_split"], ["ref", "ref_valid"], axis=1),
        helper.make_node("Sub", ["one", "mask"], ["keep"]),
        helper.make_node("Mul", ["image", "keep"], ["kept"]),
        helper.make_node("Sub", ["ref", "fill"], ["ref_minus_fill"]),
        helper.make_node("Mul", ["ref_minus_fill", "ref_valid"], ["ref_part"]),
        helper.make_node("Add", ["ref_part", "fill"], ["source"]),
        helper.make_node("Mul", ["mask", "source"], ["filled"]),
        helper.make_node("Add", ["kept", "filled"], ["restored_known"]),
        helper.make_node("Sub", ["one", "known"], ["unknown"]),
        helper.make_node("Mul", ["unknown", "eighth"], ["shift"]),
        helper.make_node("Add", ["restored_known", "shift"], ["restored"]),
    ]
    inits = [numpy_helper.from_array(np.array(1.0, np.float32), "one"),
             numpy_helper.from_array(np.array(fill, np.float32), "fill"),
             numpy_helper.from_array(np.array(0.125, np.float32), "eighth"),
             numpy_helper.from_array(np.array([1, 1], np.int64), "halves"),
             numpy_helper.from_array(np.array([3, 1], np.int64), "ref_split")]
    graph = helper.make_graph(nodes, "reference_fill",
                              [_value_info("image", 3), _value_info("gaps", 2), _value_info("reference", 4)],
                              [_value_info("restored", 3)], initializer=inits)
    names = band_names(3)
    card = _card("fill_gaps", name,
                 (TensorSpec("image", "optical", names, normalization),
                  TensorSpec("gaps", "mask", ("mask", "valid"), optional=True),
                  TensorSpec("reference", "reference", (*names, "valid"), normalization, optional=True)),
                 (TensorSpec("restored", "optical", names, like="image", range=normalization.range),),
                 None, "reference-fill")
    return _save(graph, card, path)


def fuse_model(path: str | os.PathLike[str], bands: int = 3, normalization: Normalization = UNIT,
               tile: TileSpec | None = None, name: str = "test-fuse", stage: str = "") -> Path:
    """derain_fuse: ``restored = (optical + infrared) / 2`` (infrared broadcast over the bands); with
    ``stage="fuse"`` the fusion stage of the task's two stages."""
    nodes = [helper.make_node("Add", ["optical", "infrared"], ["sum"]),
             helper.make_node("Mul", ["sum", "half"], ["restored"])]
    inits = [numpy_helper.from_array(np.array(0.5, np.float32), "half")]
    graph = helper.make_graph(nodes, "fuse", [_value_info("optical", bands), _value_info("infrared", 1)],
                              [_value_info("restored", bands)], initializer=inits)
    names = band_names(bands)
    card = _card("derain_fuse", name,
                 (TensorSpec("optical", "optical", names, normalization),
                  TensorSpec("infrared", "infrared", ("thermal1",), normalization)),
                 (TensorSpec("restored", "optical", names, like="optical", range=normalization.range),),
                 tile, "fuse", stage)
    return _save(graph, card, path)


def derain_stage_model(path: str | os.PathLike[str], factor: float = 0.5, name: str = "test-derain") -> Path:
    """derain_fuse's first stage (visible only): ``restored = factor * optical``."""
    nodes = [helper.make_node("Mul", ["optical", "factor"], ["restored"])]
    inits = [numpy_helper.from_array(np.array(factor, np.float32), "factor")]
    graph = helper.make_graph(nodes, "derain", [_value_info("optical", 3)], [_value_info("restored", 3)],
                              initializer=inits)
    names = band_names(3)
    card = _card("derain_fuse", name, (TensorSpec("optical", "optical", names, UNIT),),
                 (TensorSpec("restored", "optical", names, like="optical"),), None, "scale", "derain")
    return _save(graph, card, path)


def sar_model(path: str | os.PathLike[str], bands: int = 3, normalization: Normalization = UNIT,
              tile: TileSpec | None = None, name: str = "test-sar") -> Path:
    """decloud: ``restored = optical + 0.25 * mean(sar)``; the SAR input is optional (zeros without it)."""
    nodes = [helper.make_node("ReduceMean", ["sar"], ["sar_mean"], axes=[1], keepdims=1),
             helper.make_node("Mul", ["sar_mean", "quarter"], ["sar_term"]),
             helper.make_node("Add", ["optical", "sar_term"], ["restored"])]
    inits = [numpy_helper.from_array(np.array(0.25, np.float32), "quarter")]
    graph = helper.make_graph(nodes, "sar", [_value_info("optical", bands), _value_info("sar", 2)],
                              [_value_info("restored", bands)], initializer=inits)
    names = band_names(bands)
    card = _card("decloud", name,
                 (TensorSpec("optical", "optical", names, normalization),
                  TensorSpec("sar", "sar", ("vv", "vh"), normalization, optional=True)),
                 (TensorSpec("restored", "optical", names, like="optical", range=normalization.range),),
                 tile, "sar-offset")
    return _save(graph, card, path)


def scene_context_model(path: str | os.PathLike[str], percentiles: tuple[float, ...] = (1.0, 50.0),
                        which: int = 0, bands: int = 3, normalization: Normalization = UNIT,
                        tile: TileSpec | None = None, name: str = "test-context",
                        context_width: int | None = None) -> Path:
    """``restored`` = the scene context's ``which``-th percentile of each band, at every pixel.

    So the output shows exactly what the engine fed as the context (in raster units after the
    inverse map). ``context_width`` overrides the graph's context width (a broken package).
    """
    width = context_width or len(percentiles) * bands
    nodes = [
        helper.make_node("Slice", ["context", "start", "end", "axis"], ["picked"]),
        helper.make_node("Unsqueeze", ["picked", "hw"], ["planes"]),
        helper.make_node("Sub", ["optical", "optical"], ["zeros"]),
        helper.make_node("Add", ["zeros", "planes"], ["restored"]),
    ]
    inits = [numpy_helper.from_array(np.array([which * bands], np.int64), "start"),
             numpy_helper.from_array(np.array([(which + 1) * bands], np.int64), "end"),
             numpy_helper.from_array(np.array([1], np.int64), "axis"),
             numpy_helper.from_array(np.array([2, 3], np.int64), "hw")]
    context_info = helper.make_tensor_value_info("context", TensorProto.FLOAT, ["N", width])
    graph = helper.make_graph(nodes, "scene-context", [_value_info("optical", bands), context_info],
                              [_value_info("restored", bands)], initializer=inits)
    names = band_names(bands)
    card = _card("dehaze", name,
                 (TensorSpec("optical", "optical", names, normalization,
                             context=SceneContext("context", tuple(percentiles))),),
                 (TensorSpec("restored", "optical", names, like="optical", range=normalization.range),),
                 tile, "scene-context")
    return _save(graph, card, path)
