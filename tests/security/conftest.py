"""Fixtures for the hostile-input tests: the backend's tiny models and isolated model search path."""

from __future__ import annotations

from tests.backend.conftest import isolated_models, models  # noqa: F401  (fixtures)
