"""Fixtures shared by every test package."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Real imagery lives beside the checkout (never inside it); tests that need it skip without it.
SHARED_DATA = Path(os.environ.get("RESTORE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The ``../shared/data`` folder, or a skip saying why the test cannot run."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real imagery not available at {SHARED_DATA} (set RESTORE_SHARED_DATA)")
    return SHARED_DATA
