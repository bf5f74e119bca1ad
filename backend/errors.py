"""Errors the backend raises on purpose: each message names the problem, the file and what to do.

Callers (the CLI, the QGIS algorithms) show ``str(error)`` to the user as is; anything that is not a
``RestoreError`` is a bug and is reported as such.
"""

from __future__ import annotations


class RestoreError(Exception):
    """Base class of every error meant for the user."""


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
