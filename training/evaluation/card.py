"""The summary of an evaluation that a model card carries (``ModelCard.metrics``)."""

from __future__ import annotations

from ..evaluate import INPUT_METHOD
from .multispectral import RGB_METHOD

#: Digits of each score in the card.
DIGITS = {"psnr": 2, "ssim": 4, "cast": 2, "crushed": 4}
#: Short names the dehaze card has always used for its methods: the hazy input, the dark channel
#: prior and the model (HSMR-Net), and the RGB model beside a multispectral one.
DEHAZE_METHODS = {INPUT_METHOD: "hazy", "dark channel prior + guided filter": "dcp", RGB_METHOD: "rgb_model"}


def _short(means: dict[str, dict[str, float]], model: str) -> dict[str, dict[str, float]]:
    names = {**DEHAZE_METHODS, model: "hsmr"}
    return {names[m]: {k: round(float(v[k]), d) for k, d in DIGITS.items() if k in v}
            for m, v in means.items()}  # fmt: skip


def dehaze_card_metrics(results: dict, command: str) -> dict:
    """Mean scores per test set and method of a dehaze evaluation's JSON (``<task>.json``)."""
    model, checks = f"{results['model']} (model)", results["checks"]
    out = {
        "protocol": (f"{command}; PSNR/SSIM on [0, 1]; cast = degrees between mean colours; crushed = share "
                     "of pixels with a band <= 0.001; dcp = training/baselines/dcp.py"),
        "synthetic_test": _short(results["means"], model),
        "synthetic_test_regions": len(results["regions"]),
    }
    for check, key in (("clear", "synthetic_clear"), ("band_gain", "synthetic_band_gain"),
                       ("rs_recipe", "synthetic_rs_recipe")):  # fmt: skip
        if check in checks:
            out[key] = _short(checks[check]["means"], model)
    for variant in ("max", "minmax", "none"):
        if variant in checks.get("rs_haze", {}):
            out[f"rs_haze_{variant}"] = _short(checks["rs_haze"][variant]["whole_tile"], model)
    if "multispectral" in checks:  # a multispectral model: its true-colour bands
        out["synthetic_test_rgb_bands"] = _short(checks["multispectral"]["true_colour_mean"], model)
    return out
