"""Builders of hostile inputs for the security tests: model packages, index files, rasters."""

from __future__ import annotations

from pathlib import Path

import onnx

from tests.support import tiny_models


def external_data_model(folder: Path, location: str, name: str = "conv.onnx") -> Path:
    """A 3x3-convolution package whose weights live in an external file at ``location``.

    The weights are first saved beside the model (``weights.bin``), then every tensor's
    ``location`` is rewritten to ``location`` (which may point anywhere: that is the attack).
    """
    path = tiny_models.conv3x3_model(folder / name)
    proto = onnx.load(str(path))
    onnx.save_model(proto, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="weights.bin", size_threshold=0)
    if location != "weights.bin":
        proto = onnx.load(str(path), load_external_data=False)
        for tensor in proto.graph.initializer:
            for entry in tensor.external_data:
                if entry.key == "location":
                    entry.value = location
        path.write_bytes(proto.SerializeToString())
    return path


def nan_model(path: Path) -> Path:
    """A dehaze package whose output is ``sqrt(optical - 10)``: NaN for every input in [0, 1]."""
    import numpy as np
    from onnx import helper, numpy_helper

    names = tiny_models.band_names(3)
    graph = helper.make_graph(
        [helper.make_node("Sub", ["optical", "ten"], ["shifted"]),
         helper.make_node("Sqrt", ["shifted"], ["restored"])],
        "nan", [tiny_models._value_info("optical", 3)], [tiny_models._value_info("restored", 3)],
        initializer=[numpy_helper.from_array(np.array(10.0, np.float32), "ten")],
    )
    spec = tiny_models.TensorSpec("optical", "optical", names, tiny_models.UNIT)
    out = tiny_models.TensorSpec("restored", "optical", names, like="optical")
    card = tiny_models._card("dehaze", "test-nan", (spec,), (out,), None, "nan")
    return tiny_models._save(graph, card, path)


def card_with_json(source: Path, path: Path, edit) -> Path:
    """``source``'s package with its card JSON replaced by ``edit(card_dict)`` (no validation)."""
    import json

    from backend.model_card import METADATA_KEY

    proto = onnx.load(str(source))
    for prop in proto.metadata_props:
        if prop.key == METADATA_KEY:
            data = json.loads(prop.value)
            edit(data)
            prop.value = json.dumps(data)  # allow_nan: writes Infinity, as a hostile card would
    path.write_bytes(proto.SerializeToString())
    return path


def huge_vrt(path: Path, source: Path, size: int) -> Path:
    """A VRT declaring a ``size`` x ``size`` raster of three bands, all from the small ``source``."""
    bands = "".join(
        f'<VRTRasterBand dataType="Byte" band="{b}"><SimpleSource><SourceFilename relativeToVRT="0">'
        f"{source}</SourceFilename><SourceBand>{b}</SourceBand></SimpleSource></VRTRasterBand>"
        for b in (1, 2, 3))
    path.write_text(f'<VRTDataset rasterXSize="{size}" rasterYSize="{size}">{bands}</VRTDataset>')
    return path
