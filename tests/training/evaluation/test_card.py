"""The card's summary of a dehaze evaluation, and the registry that writes it."""

from __future__ import annotations

import json

from training.evaluate import INPUT_METHOD
from training.evaluation import CARD_METRICS, EXTRA_CHECKS, run_checks
from training.evaluation.card import dehaze_card_metrics

DCP = "dark channel prior + guided filter"


def _means(psnr: float, model: str = "m") -> dict:
    scores = {"psnr": psnr + 0.123456, "ssim": 0.9123456, "sam": 3.0, "cast": 2.345678, "crushed": 0.0012345}
    return {m: dict(scores) for m in (INPUT_METHOD, DCP, f"{model} (model)")}


def test_card_metrics_use_the_cards_short_names_and_name_the_command():
    results = {"model": "m", "means": _means(20), "regions": [{}] * 9,
               "checks": {"clear": {"means": _means(30)}, "rs_haze": {"max": {"whole_tile": _means(25)}}}}
    card = dehaze_card_metrics(results, "python -m training evaluate --task dehaze")
    assert card["protocol"].startswith("python -m training evaluate --task dehaze;")
    assert card["synthetic_test"]["hsmr"] == {"psnr": 20.12, "ssim": 0.9123, "cast": 2.35, "crushed": 0.0012}
    assert set(card["synthetic_test"]) == {"hazy", "dcp", "hsmr"}
    assert card["synthetic_test_regions"] == 9
    assert card["synthetic_clear"]["dcp"]["psnr"] == 30.12 and card["rs_haze_max"]["hazy"]["psnr"] == 25.12
    assert "synthetic_band_gain" not in card and "rs_haze_minmax" not in card  # only what was measured


def test_the_checks_write_their_numbers_into_the_evaluation_json(context, monkeypatch):
    from training.evaluation import held_out

    monkeypatch.setitem(EXTRA_CHECKS, "dehaze", (held_out.clear, held_out.band_gain))
    name = context.model.name
    (context.out_dir / "dehaze.json").write_text(json.dumps({"model": name, "means": _means(20, name),
                                                             "regions": [{}, {}]}))  # fmt: skip
    markdown = run_checks("dehaze", context.model.path, context.regions, context.data_root, context.out_dir,
                          command="python -m training evaluate --task dehaze")  # fmt: skip
    saved = json.loads((context.out_dir / "dehaze.json").read_text())
    assert set(saved["checks"]) == {"clear", "band_gain"}
    assert "### The same pairs with per-band gains" in markdown
    card = json.loads((context.out_dir / "dehaze_card_metrics.json").read_text())
    assert card == CARD_METRICS["dehaze"](saved, "python -m training evaluate --task dehaze")
    assert "synthetic_band_gain" in card


def test_a_task_without_checks_adds_nothing(context):
    assert run_checks("desand", None, (), context.data_root, context.out_dir) == ""
