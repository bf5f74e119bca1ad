"""The training-step benchmark: both configurations step, and its report holds the ratio."""

from __future__ import annotations

import json

from benchmarks import train_step


def test_the_benchmark_times_the_shipped_lite_and_the_published_full_configuration(capsys):
    configs = train_step.configurations()
    assert {c.attention_window for c in configs.values()} == {train_step.WINDOW}
    assert train_step.main(["--threads", "1", "--batch", "1", "--crop", "32", "--repeat", "1"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = report["configurations"]
    assert rows["lite"]["parameters"] == 430_873  # the shipped model's count (docs/MODELS.md)
    assert rows["full"]["parameters"] == 9_916_564  # the published widths, with batch norm
    ratio = rows["full"]["seconds_per_step"] / rows["lite"]["seconds_per_step"]
    assert report["full_vs_lite"] == round(ratio, 2)
    assert all(r["seconds_per_step"] > 0 for r in rows.values())
