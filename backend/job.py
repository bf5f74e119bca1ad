"""``RestoreJob``: everything one ``backend.pipeline.restore`` call needs, as one frozen value.

The QGIS algorithms, the CLI and training evaluation each build a job from their own parameters and
hand it to ``restore``; the run's wiring (progress, cancel, log callbacks) stays outside it. The
field names are also the option names that ``RestoreError.options`` carries, so each front end maps
one set of names to its own flags or parameters. Pure Python (no numpy, GDAL or ONNX Runtime): the
plugin builds jobs before it knows whether those can be imported.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

from .extent import Extent

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class RestoreJob:
    """A restoration request: a ``task``, its input rasters by role, the output path and options.

    ``inputs`` maps a role of ``backend.tasks`` (``optical``, ``infrared``, ``sar``, ``mask``) to a
    raster path; it is copied, so changing the caller's mapping later does not change the job.
    ``bands`` are 1-based bands of the optical input in the model's order (empty: all, stored as
    ``None``). ``stage_outputs`` (a task that runs in stages) also keeps stage results (empty:
    ``None``). ``None`` tile size, overlap and batch size take the model card's values and the
    device's batch. ``threads`` caps ONNX Runtime's CPU threads (default: one per core).
    ``strength`` (0-1) keeps that share of the model's change, for models whose output is an enhanced
    copy of an input (dehaze, desand). ``black_level`` is the optical raster's value of black ground
    (a Level-1 product's offset), taken off before a model normalised from zero up and added back.
    ``allow_large`` skips the size, memory and disk checks (``backend.budget``). ``extent`` (an
    ``Extent`` or its text ``xmin,ymin,xmax,ymax[,crs]``) restores only the pixels it touches; the
    output covers them, on the input's pixel grid. ``region`` (a vector file of polygons) restores
    only inside its polygons (``backend.region``). Values are checked
    by ``restore``, which raises ``RestoreError`` subclasses naming the offending fields.
    """

    task: str
    inputs: Mapping[str, PathLike]
    output: PathLike
    model: PathLike | None = None
    device: str = "auto"
    tile_size: int | None = None
    overlap: int | None = None
    batch_size: int | None = None
    threads: int | None = None
    bands: Sequence[int] | None = None
    mask_output: PathLike | None = None
    #: A task that runs in stages: stage name -> where to write that stage's own result too
    #: (derain_fuse: ``{"derain": path}``, the de-rained visible image); the last stage writes ``output``.
    stage_outputs: Mapping[str, PathLike] | None = None
    resample: bool = False
    float_output: bool = False
    strength: float = 1.0
    black_level: float = 0.0
    allow_large: bool = False
    extent: Extent | None = None
    region: PathLike | None = None

    def __post_init__(self) -> None:
        if isinstance(self.extent, str):
            object.__setattr__(self, "extent", Extent.parse(self.extent))
        object.__setattr__(self, "inputs", dict(self.inputs))
        object.__setattr__(self, "stage_outputs", dict(self.stage_outputs) if self.stage_outputs else None)
        object.__setattr__(self, "bands", tuple(self.bands) if self.bands else None)


#: The option names (``RestoreJob`` fields other than the task, inputs and output).
OPTIONS: tuple[str, ...] = tuple(f.name for f in fields(RestoreJob))[3:]
