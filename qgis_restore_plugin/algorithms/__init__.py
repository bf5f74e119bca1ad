"""The provider's algorithms: one restoration algorithm per task of ``backend.tasks``, plus diagnostics."""

from __future__ import annotations

from .base import RestoreAlgorithmBase
from .decloud import DecloudAlgorithm
from .dehaze import DehazeAlgorithm
from .derain_fuse import DerainFuseAlgorithm
from .desand import DesandAlgorithm
from .diagnostics import DiagnosticsAlgorithm
from .fill_gaps import FillGapsAlgorithm

RESTORATION_ALGORITHMS: tuple[type[RestoreAlgorithmBase], ...] = (
    DehazeAlgorithm,
    DesandAlgorithm,
    DecloudAlgorithm,
    DerainFuseAlgorithm,
    FillGapsAlgorithm,
)

__all__ = ["RESTORATION_ALGORITHMS", "DiagnosticsAlgorithm", "RestoreAlgorithmBase"]
