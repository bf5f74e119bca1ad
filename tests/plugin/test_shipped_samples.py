"""Every shipped default model restores its task's shipped sample through the real ``qgis_process``.

The samples index (``resources/samples/index.json``) says which sample shows which task; a task with
a sample but no shipped model is not tested here (its algorithm refuses to run, see test_algorithms).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import REPO_ROOT
from tests.plugin.conftest import QGIS_PROCESS, qgis_process_env
from tests.plugin.test_qgis_process import enabled_profile, qgis_process, read

SAMPLES = REPO_ROOT / "resources" / "samples"
MODELS = REPO_ROOT / "resources" / "models"


def _rasters(sample: str | dict[str, str]) -> dict[str, str]:
    """Algorithm parameter -> sample raster: one raster is the INPUT; a task with several inputs
    names each parameter (derain_fuse: VISIBLE and INFRARED, the first one the image to restore)."""
    return {"INPUT": sample} if isinstance(sample, str) else dict(sample)


def _shipped_tasks() -> list[tuple[str, dict[str, str], str]]:
    index = json.loads((SAMPLES / "index.json").read_text())
    models = json.loads((MODELS / "index.json").read_text())["models"]
    defaults: dict[str, str] = {}
    for m in models:
        if m.get("default"):
            defaults.setdefault(m["task"], m["name"])
    return [(task, _rasters(sample), defaults[task]) for task, sample in index.items() if task in defaults]


pytestmark = [
    pytest.mark.qgis,
    pytest.mark.skipif(not QGIS_PROCESS.is_file(), reason=f"{QGIS_PROCESS} not installed"),
]


def test_the_samples_index_names_existing_rasters_of_known_tasks():
    from backend.tasks import TASKS

    for task, sample in json.loads((SAMPLES / "index.json").read_text()).items():
        assert task in TASKS and all((SAMPLES / raster).is_file() for raster in _rasters(sample).values())


@pytest.mark.parametrize(("task", "rasters", "model"), _shipped_tasks())
def test_qgis_process_restores_the_shipped_sample_on_its_grid(task, rasters, model, tmp_path):
    from training.metrics import lab_cast

    source = SAMPLES / next(iter(rasters.values()))
    out = tmp_path / f"{task}.tif"
    env = qgis_process_env(enabled_profile(tmp_path / "profile"), RESTORE_MODELS_PATH="")
    inputs = [f"{parameter}={SAMPLES / raster}" for parameter, raster in rasters.items()]
    proc = qgis_process("run", f"restore:{task}", "--", *inputs, f"MODEL={model}", "DEVICE=0",
                        f"OUTPUT={out}", env=env, cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    restored, geotransform, projection = read(out)
    original, original_gt, original_srs = read(source)
    assert restored.shape == original.shape and restored.dtype == original.dtype
    assert geotransform == pytest.approx(original_gt) and projection == original_srs
    # Plausible: a changed image, not a constant, with the input's brightness order of magnitude.
    assert np.abs(restored.astype(np.float64) - original).mean() > 0.01 * original.mean()
    assert restored.std() > 0.1 * original.std()
    assert 0.2 < restored.mean() / original.mean() < 5.0
    if task == "fill_gaps":  # nodata gaps: every one filled, every valid pixel unchanged
        gaps = (original == 0).all(axis=0)
        assert gaps.mean() > 0.05 and (restored[:, gaps] > 0).all()
        assert np.array_equal(restored[:, ~gaps], original[:, ~gaps])
    if task == "desand":  # dust is an orange-yellow cast: the result must have less of it
        scale = float(np.percentile(original, 99.5))
        assert lab_cast(np.clip(restored / scale, 0, 1)) < lab_cast(np.clip(original / scale, 0, 1))
