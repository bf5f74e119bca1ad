"""Errors the backend raises on purpose: each message names the problem, the file and what to do.

Messages name options in words ("lower the overlap or raise the tile size"), never as one front end
spells them; an error that asks for an option to change also carries the options' ``RestoreJob``
field names in ``options`` (``("overlap", "tile_size")``). Front ends show ``describe(error,
names)``: the message, then their own names for those options (the CLI ``--overlap``, the QGIS
algorithms ``OVERLAP``). Anything that is not a ``RestoreError`` is a bug and is reported as such.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class RestoreError(Exception):
    """Base class of every error meant for the user; ``options``: the job fields it asks to change."""

    def __init__(self, message: str = "", *, options: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.options: tuple[str, ...] = tuple(options)


def describe(error: RestoreError, names: Mapping[str, str]) -> str:
    """The error's message followed by a front end's ``names`` of its options, e.g. ``(--overlap)``.

    Options a front end has no name for (the plugin has no ``threads``) are left out.
    """
    shown = [names[option] for option in error.options if option in names]
    return f"{error} ({', '.join(shown)})" if shown else str(error)


class UnknownTaskError(RestoreError, ValueError):
    """A task id that is not one of ``backend.tasks.TASKS``."""


class ModelCardError(RestoreError, ValueError):
    """A model card that is missing, malformed or fails validation."""


class ModelNotFoundError(RestoreError, LookupError):
    """No installed model matches the requested task or name."""


class ModelIntegrityError(RestoreError):
    """A model file whose checksum does not match ``index.json``, or that ONNX Runtime cannot load."""


class ModelTaskMismatchError(RestoreError, ValueError):
    """A model whose card declares another task than the one asked for."""


class InputRasterError(RestoreError, ValueError):
    """An input raster that is missing, unreadable, or does not fit the model (bands, grid, dtype)."""


class OutputRasterError(RestoreError, OSError):
    """An output path that cannot be written, or that would overwrite an input."""


class DeviceError(RestoreError, RuntimeError):
    """An execution device that was asked for explicitly but cannot run here."""


class CancelledError(RestoreError):
    """The run was cancelled by the user; no output was left behind."""


class InvalidOptionError(RestoreError, ValueError):
    """An option out of range or inconsistent with the model (tile size, overlap, batch size, bands)."""
