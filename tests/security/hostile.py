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
