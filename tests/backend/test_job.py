from __future__ import annotations

import dataclasses

import pytest

from backend.job import OPTIONS, RestoreJob


def test_a_job_is_frozen_and_keeps_its_own_copy_of_the_inputs() -> None:
    inputs = {"optical": "in.tif"}
    job = RestoreJob("dehaze", inputs, "out.tif", bands=[3, 2, 1])
    inputs["optical"] = "other.tif"
    assert job.inputs == {"optical": "in.tif"}
    assert job.bands == (3, 2, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.tile_size = 64  # type: ignore[misc]
    assert dataclasses.replace(job, tile_size=64).tile_size == 64


def test_no_bands_means_all_and_options_are_the_fields_after_the_request() -> None:
    assert RestoreJob("dehaze", {"optical": "in.tif"}, "out.tif", bands=[]).bands is None
    assert OPTIONS[0] == "model" and OPTIONS[-1] == "region" and "task" not in OPTIONS
