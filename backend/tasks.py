"""The restoration tasks, input roles and band names: the one place these facts live.

The plugin, the CLI, the engine and the training package all read task names and the inputs each
task takes from here, so a new task or role is added once.
"""

from __future__ import annotations

from dataclasses import dataclass

#: What an input raster stands for. A model card names one role per input.
ROLES: tuple[str, ...] = ("optical", "infrared", "sar", "mask", "reference")

#: Band names a model card may use to describe the ordered bands of an input or output.
BAND_NAMES: tuple[str, ...] = (
    "coastal", "blue", "green", "red", "rededge1", "rededge2", "rededge3", "nir", "nir08",
    "watervapour", "cirrus", "swir1", "swir2", "thermal1", "thermal2", "pan", "gray",
    "vv", "vh", "hh", "hv", "mask", "valid",
)  # fmt: skip

#: A last band of this name on a model input is not read from the raster: the engine feeds it per
#: pixel, 1 where the input's values are known, 0 where they are not (nodata, or the optional input
#: is absent: then the whole input is zeros). On a ``mask`` input it is 1 where the mask is known (the
#: raster declares nodata or a MASK raster is given, and wherever a pixel is missing), so a model may
#: estimate the mask itself elsewhere.
VALIDITY_BAND = "valid"


@dataclass(frozen=True)
class InputSlot:
    """One input a task accepts: its role and whether the task can run without it."""

    role: str
    required: bool = True


@dataclass(frozen=True)
class Task:
    """A restoration task: its id, its title for people, and the inputs it takes, in order."""

    id: str
    title: str
    inputs: tuple[InputSlot, ...]
    #: True when the task also writes a mask of the pixels it reconstructed.
    writes_mask: bool = False
    #: True when the output is an enhanced copy of the input, so a strength can blend the two
    #: (``RestoreJob(strength=...)``, the plugin's STRENGTH parameter).
    takes_strength: bool = False
    #: True when the task's models read raster values from zero up (normalisation ``scale``, which
    #: keeps the haze floor), so a sensor's black level must come off first
    #: (``RestoreJob(black_level=...)``, the plugin's BLACK_LEVEL parameter).
    takes_black_level: bool = False
    #: A task whose models run in series, in this order (e.g. de-rain, then fuse): each model's card
    #: names its ``stage``; a stage's output replaces the optical input of the next stage, and only
    #: the last stage writes the job's output (``backend.pipeline``, docs/BACKEND.md "Staged tasks").
    #: Empty: one model does the whole task.
    stages: tuple[str, ...] = ()


TASKS: dict[str, Task] = {
    task.id: task
    for task in (
        Task("dehaze", "Dehaze", (InputSlot("optical"),), takes_strength=True, takes_black_level=True),
        Task("desand", "Remove sand and dust", (InputSlot("optical"),), takes_strength=True),
        Task("decloud", "Remove clouds", (InputSlot("optical"), InputSlot("sar", required=False)),
             takes_black_level=True),
        Task("derain_fuse", "De-rain and fuse visible with infrared",
             (InputSlot("optical"), InputSlot("infrared")), stages=("derain", "fuse")),
        Task("fill_gaps", "Fill missing data", (InputSlot("optical"), InputSlot("mask", required=False),
                                                InputSlot("reference", required=False)), writes_mask=True),
    )
}  # fmt: skip


def get_task(task_id: str) -> Task:
    """Return the task named ``task_id`` or raise ``UnknownTaskError`` listing the known ones."""
    from .errors import UnknownTaskError

    try:
        return TASKS[task_id]
    except KeyError:
        raise UnknownTaskError(
            f"unknown task {task_id!r}; known tasks: {', '.join(TASKS)}"
        ) from None
