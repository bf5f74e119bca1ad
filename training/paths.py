"""Where things are by default: the shared imagery beside the checkout, runs, shipped models."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def default_data_root() -> Path:
    """``$RESTORE_SHARED_DATA`` or ``../shared/data`` next to the repository (never inside it)."""
    return Path(os.environ.get("RESTORE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def default_run_dir(task: str, config: str) -> Path:
    return REPO_ROOT / "runs" / f"{task}-{config}"
