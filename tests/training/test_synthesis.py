"""Synthesis keeps shapes, dtypes and physical bounds, and each degradation does what it claims."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from training.synthesis import SYNTHESES
from training.synthesis.band_gain import BandGainConfig, add_band_gains
from training.synthesis.haze import HazeConfig, synthesize_haze
from training.synthesis.noise import fit_pattern, smooth_noise
from training.synthesis.offset import OffsetConfig, add_offset
from training.synthesis.rs_haze import RSHazeConfig, band_transmission, synthesize_rs_haze

RGB = ("red", "green", "blue")


def _clean(seed: int, shape=(3, 40, 56)) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "optical": rng.random(shape, dtype=np.float32),
        "infrared": rng.random((1, *shape[1:]), dtype=np.float32),
    }


@settings(max_examples=15, deadline=None)
@given(kind=st.sampled_from(sorted(SYNTHESES)), seed=st.integers(0, 2**31))
def test_every_synthesis_keeps_shape_dtype_and_unit_bounds(kind, seed):
    entry = SYNTHESES[kind]
    clean = _clean(seed % 1000)
    deg = entry.synth(clean, np.random.default_rng(seed), entry.config_cls(), RGB)
    for role, array in deg.inputs.items():
        assert array.dtype == np.float32, role
        assert array.shape[1:] == clean["optical"].shape[1:], role
        finite = array[np.isfinite(array)]
        assert finite.min() >= 0.0 and finite.max() <= 1.0, role
    assert deg.inputs["optical"].shape == clean["optical"].shape
    assert deg.target.shape == clean["optical"].shape and deg.target.dtype == np.float32
    assert deg.target.min() >= 0.0 and deg.target.max() <= 1.0


def test_haze_follows_the_scattering_model_and_wavelength():
    clean = _clean(1)
    deg = synthesize_haze(clean, np.random.default_rng(3), HazeConfig(angstrom=(1.0, 1.0)), RGB)
    t, airlight = deg.info["transmission"], deg.info["airlight"][:, None, None]
    np.testing.assert_allclose(deg.inputs["optical"], clean["optical"] * t + airlight * (1 - t), atol=1e-6)
    # Blue (short wavelength) is attenuated more than red, everywhere.
    assert np.all(t[2] <= t[0])
    assert t.min() > 0 and t.max() <= 1


def test_bluish_airlight_follows_its_exponent_and_grey_recipes_keep_their_draws():
    clean = _clean(1)
    grey = synthesize_haze(clean, np.random.default_rng(5), HazeConfig(airlight_tint=0.0), RGB)
    blue = synthesize_haze(clean, np.random.default_rng(5),
                           HazeConfig(airlight_tint=0.0, airlight_angstrom=(2.0, 2.0)), RGB)  # fmt: skip
    # Same draws up to the airlight's colour: the grey recipe's random stream is unchanged.
    np.testing.assert_array_equal(grey.info["transmission"], blue.info["transmission"])
    red, green, b = blue.info["airlight"]
    assert red < green < b == pytest.approx(grey.info["airlight"][2])  # brightest band keeps its value
    assert green / b == pytest.approx((0.49 / 0.56) ** 2, rel=1e-5)


def test_haze_with_no_optical_depth_is_the_clean_image():
    clean = _clean(2)
    deg = synthesize_haze(clean, np.random.default_rng(0), HazeConfig(tau=(0.0, 0.0)), RGB)
    np.testing.assert_allclose(deg.inputs["optical"], clean["optical"], atol=1e-7)


def test_an_offset_raises_input_and_target_alike_and_keeps_their_contrast():
    clean = _clean(3)
    deg = synthesize_haze(clean, np.random.default_rng(0), HazeConfig(), RGB)
    config = OffsetConfig(probability=1.0, offset=(0.5, 0.5))
    shifted = add_offset(deg, np.random.default_rng(0), config)
    assert shifted.info["offset"] == pytest.approx(0.5) and "transmission" in shifted.info
    # black ground reads o in every band, white stays white: x -> o + (1 - o) x
    np.testing.assert_allclose(shifted.target, 0.5 + 0.5 * deg.target, atol=1e-6)
    np.testing.assert_allclose(shifted.inputs["optical"], 0.5 + 0.5 * deg.inputs["optical"], atol=1e-6)
    assert shifted.target.dtype == np.float32 and shifted.target.max() <= 1.0
    # the map the network must learn, input -> target, keeps its slope: an offset is not haze
    def slope(pair):
        return np.polyfit(pair.inputs["optical"].ravel(), pair.target.ravel(), 1)[0]

    assert slope(shifted) == pytest.approx(slope(deg), rel=1e-4)
    untouched = add_offset(deg, np.random.default_rng(0), OffsetConfig(probability=0.0))
    assert untouched is deg


def test_an_offset_leaves_masks_and_missing_pixels_alone():
    deg = SYNTHESES["gaps"].synth(_clean(4), np.random.default_rng(1), SYNTHESES["gaps"].config_cls(), RGB)
    shifted = add_offset(deg, np.random.default_rng(0), OffsetConfig(probability=1.0))
    optical = deg.inputs["optical"]
    assert np.isnan(optical).any()
    np.testing.assert_array_equal(np.isnan(shifted.inputs["optical"]), np.isnan(optical))
    assert np.nanmin(shifted.inputs["optical"]) >= shifted.info["offset"] - 1e-6
    assert shifted.inputs["mask"] is deg.inputs["mask"] and shifted.mask is deg.mask


def test_band_gains_scale_input_and_target_alike_within_the_unit_range():
    deg = synthesize_haze(_clean(5), np.random.default_rng(0), HazeConfig(), RGB)
    gained = add_band_gains(deg, np.random.default_rng(1), BandGainConfig(probability=1.0, ratio=2.0))
    gains = np.array(gained.info["band_gains"], dtype=np.float32)[:, None, None]
    assert gains.max() == pytest.approx(1.0) and gains.min() >= 0.25 and len(set(gains.ravel())) == 3
    np.testing.assert_allclose(gained.target, deg.target * gains, rtol=1e-6)
    np.testing.assert_allclose(gained.inputs["optical"], deg.inputs["optical"] * gains, rtol=1e-6)
    # still the scattering model, with an airlight of the gains' colour: I' = J' t + (g A)(1 - t)
    t, airlight = deg.info["transmission"], deg.info["airlight"][:, None, None]
    expected = gained.target * t + gains * airlight * (1 - t)
    np.testing.assert_allclose(gained.inputs["optical"], expected, atol=1e-5)
    assert add_band_gains(deg, np.random.default_rng(1), BandGainConfig(probability=0.0)) is deg


def test_haze_uses_real_cirrus_patterns_when_given(shared_data):
    folder = shared_data / "remote_sensing" / "rs_haze_sample" / "data" / "cirrus"
    config = HazeConfig(cirrus_dir=str(folder), cirrus_probability=1.0)
    from training.synthesis.haze import load_cirrus_patterns

    assert len(load_cirrus_patterns(str(folder))) == 9
    deg = synthesize_haze(_clean(0, (3, 64, 64)), np.random.default_rng(0), config, RGB)
    assert deg.inputs["optical"].shape == (3, 64, 64)


def test_rs_haze_thins_with_wavelength_and_thin_haze_is_the_most_selective():
    t1 = np.array([[0.5, 0.8, 0.95, 0.99]], dtype=np.float32)
    t = band_transmission(t1, ("coastal", "blue", "green", "red"))
    np.testing.assert_allclose(t[0], t1, rtol=1e-6)  # the coastal band's transmission is t1 itself
    assert np.all(t1 <= t[1]) and np.all(t[1] <= t[2]) and np.all(t[2] <= t[3])
    # optical depth of red over blue: small under thin haze (gamma 4), near 1 under thick (gamma ~0.4)
    ratio = np.log(t[3, 0]) / np.log(t[1, 0])
    assert np.all(np.diff(ratio) < 0) and ratio[0] > 0.8 and ratio[-1] < 0.4


def test_rs_haze_pair_is_the_scattering_model_at_one_scale():
    clean = _clean(4)
    config = RSHazeConfig(airlight=(2.5, 2.5), weight=(0.5, 0.5))
    deg = synthesize_rs_haze(clean, np.random.default_rng(0), config, RGB)
    t, airlight, unit = deg.info["transmission"], deg.info["airlight"][:, None, None], deg.info["unit"]
    assert unit > 1.0 and deg.inputs["optical"].max() == pytest.approx(1.0)  # bright airlight: rescaled
    np.testing.assert_allclose(deg.target, clean["optical"] / unit, rtol=1e-6)
    np.testing.assert_allclose(deg.inputs["optical"], deg.target * t + airlight * (1 - t), atol=1e-6)
    red, green, blue = deg.info["airlight"]
    assert red > blue and airlight.max() * unit > 2.0  # warm, and far brighter than the ground


def test_rs_haze_recipe_reproduces_the_benchmarks_own_pair(shared_data):
    """The RS-Haze sample's hazy tile is ``J t + A (1 - t)`` with one airlight per band, and its
    per-band transmissions follow from the coastal band's by ``band_transmission``."""
    from osgeo import gdal

    base = shared_data / "remote_sensing" / "rs_haze_sample"
    result = base / "result" / "00215" / "00215_0_0.5020_max"

    def read(path):
        return gdal.Open(str(path)).ReadAsArray().astype(np.float64) / 65535.0

    t1 = 1.0 - read(result / "t_1.png")  # the files store 1 - t
    t = band_transmission(t1.astype(np.float32), ("blue", "green", "red"))
    for k, band in enumerate((2, 3, 4)):
        t_b = 1.0 - read(result / f"t_{band}.png")
        assert np.abs(t[k] - t_b).max() < 0.01  # the recipe's wavelengths differ by up to 10 nm
        clean, hazy = read(base / "data" / "00215" / "00215" / f"00215_B{band}.png"), read(
            result / f"00215_0_0.5020_max_B{band}.png")
        thick = t_b < 0.9
        airlight = (hazy - clean * t_b)[thick] / (1.0 - t_b[thick])
        assert airlight.std() < 1e-3 and 1.9 < airlight.mean() / np.percentile(clean, 99.5) < 2.4


def test_gaps_are_nan_exactly_where_the_mask_says():
    entry = SYNTHESES["gaps"]
    for seed in range(10):
        deg = entry.synth(_clean(seed), np.random.default_rng(seed), entry.config_cls(), RGB)
        mask = deg.inputs["mask"][0] > 0
        assert 0 < mask.mean() < 1
        assert np.array_equal(np.isnan(deg.inputs["optical"]).any(0), mask)
        np.testing.assert_array_equal(deg.mask, deg.inputs["mask"])


def test_slc_off_gaps_widen_away_from_nadir():
    from training.synthesis.gaps import GapConfig, slc_off_mask

    config = GapConfig(tilt_deg=(0.0, 0.0))
    spread = []
    for seed in range(5):
        widths = slc_off_mask((256, 512), np.random.default_rng(seed), config).mean(0)  # gap share per column
        nadir = int(np.argmin(widths))
        tol = 0.04  # whole rows: each of the ~7 stripes rounds its width to a pixel
        assert np.all(np.diff(widths[nadir:]) >= -tol) and np.all(np.diff(widths[: nadir + 1]) <= tol)
        spread.append(widths.max() - widths.min())
    assert max(spread) > 0.1


def test_thick_clouds_hide_the_ground_and_cast_shadows():
    from training.synthesis.clouds import CloudConfig, synthesize_clouds

    clean = {"optical": np.full((3, 128, 128), 0.3, dtype=np.float32)}
    config = CloudConfig(thick_probability=1.0, clear_probability=0.0, cover=(0.15, 0.15),
                         shadow_offset=(30.0, 30.0))
    shadowed = 0
    for seed in range(6):
        deg = synthesize_clouds(clean, np.random.default_rng(seed), config, RGB)
        core = deg.info["cover"] >= 1.0
        assert core.any() and deg.inputs["optical"][:, core].min() > 0.7  # opaque, bright cores
        shaded = (deg.info["shadow"] > 0.9) & (deg.info["cover"] == 0)
        if shaded.any():
            shadowed += 1
            assert deg.inputs["optical"][:, shaded].max() < 0.3 * (1 - 0.3 * 0.9) + 1e-6
        clear = (deg.info["shadow"] == 0) & (deg.info["cover"] == 0)
        np.testing.assert_allclose(deg.inputs["optical"][:, clear], 0.3, atol=1e-6)
    assert shadowed >= 2


def test_clear_skies_come_back_unchanged():
    from training.synthesis.clouds import CloudConfig, synthesize_clouds

    clean = _clean(3, (3, 64, 64))
    deg = synthesize_clouds(clean, np.random.default_rng(0), CloudConfig(clear_probability=1.0), RGB)
    assert deg.info["kind"] == "clear"
    np.testing.assert_array_equal(deg.inputs["optical"], clean["optical"])


def test_cloud_spectra_differ_between_water_and_ice_clouds():
    from training.data.scenes import S2_BANDS
    from training.synthesis.clouds import CloudConfig, synthesize_clouds

    clean = {"optical": np.full((len(S2_BANDS), 96, 96), 0.2, dtype=np.float32)}
    cirrus, swir2 = S2_BANDS.index("cirrus"), S2_BANDS.index("swir2")
    blue = S2_BANDS.index("blue")
    thick = synthesize_clouds(clean, np.random.default_rng(1),
                              CloudConfig(thick_probability=1.0, clear_probability=0.0), S2_BANDS)
    core = thick.info["cover"] >= 1.0
    image = thick.inputs["optical"]
    # A low water cloud: bright from the visible to SWIR, dim in the cirrus band.
    assert image[blue, core].mean() > 0.7
    assert image[swir2, core].mean() > 0.8 * image[blue, core].mean()
    assert image[cirrus, core].mean() - 0.2 < 0.45 * (image[blue, core].mean() - 0.2)
    thin = synthesize_clouds(clean, np.random.default_rng(2),
                             CloudConfig(thick_probability=0.0, clear_probability=0.0), S2_BANDS)
    assert thin.info["kind"] == "thin"
    veil = thin.info["cover"] >= 1.0
    lift = thin.inputs["optical"][:, veil].mean(axis=1) - 0.2
    # Cirrus (ice) shows in the 1.375 um band, is dim in SWIR, and never hides the ground entirely.
    assert lift[cirrus] > 0.5 * lift[blue] > 0 and lift[swir2] < 0.5 * lift[blue]
    opacity = thin.info["opacity"]
    assert thin.inputs["optical"][blue, veil].max() < 0.2 * (1 - opacity) + opacity + 1e-5


def test_cirrus_is_elongated():
    from training.synthesis.clouds import CloudConfig, cirrus_cover

    config = CloudConfig(cover=(0.4, 0.4), cirrus_elongation=(8.0, 8.0))
    ratios = []
    for seed in range(4):
        cover = cirrus_cover((128, 128), np.random.default_rng(seed), config)
        gy, gx = np.gradient(cover)
        # Structure tensor: fibres vary much more across than along their direction.
        jxx, jyy, jxy = (gx * gx).mean(), (gy * gy).mean(), (gx * gy).mean()
        eig = np.linalg.eigvalsh(np.array([[jxx, jxy], [jxy, jyy]]))
        ratios.append(eig[1] / max(eig[0], 1e-12))
    assert np.median(ratios) > 2.0


def test_dust_airlight_is_colour_cast():
    from training.synthesis.dust import DustConfig, synthesize_dust

    clean = {"optical": np.full((3, 32, 32), 0.5, dtype=np.float32)}
    deg = synthesize_dust(clean, np.random.default_rng(0), DustConfig(grey_probability=0.0), RGB)
    red, green, blue = deg.info["airlight"]
    assert red > green > blue
    mean = deg.inputs["optical"].mean(axis=(1, 2))
    assert mean[0] > mean[1] > mean[2]


def test_night_rain_darkens_adds_streaks_and_keeps_infrared():
    from training.synthesis.rain import NightRainConfig, synthesize_night_rain

    clean = _clean(4, (3, 96, 96))
    cfg = NightRainConfig(shot_noise=(0.0, 0.0), read_noise=(0.0, 0.0), quantize=False)
    deg = synthesize_night_rain(clean, np.random.default_rng(0), cfg, RGB)
    np.testing.assert_array_equal(deg.inputs["infrared"], clean["infrared"])
    assert deg.inputs["optical"].mean() < 0.5 * clean["optical"].mean()
    assert deg.info["streaks"].max() > 0
    # Without noise, the input is the target plus streaks (never darker than the target).
    assert np.all(deg.inputs["optical"] >= deg.target - 1e-6)


@pytest.mark.parametrize("shape", [(17, 33), (64, 64)])
def test_noise_and_patterns_fill_the_requested_shape(shape):
    rng = np.random.default_rng(0)
    field = smooth_noise(shape, rng)
    assert field.shape == shape and field.min() == 0.0 and field.max() == 1.0
    pattern = fit_pattern(rng.random((50, 70)).astype(np.float32), shape, rng)
    assert pattern.shape == shape and pattern.dtype == np.float32


def test_stripe_statistics_measure_a_known_pattern():
    from training.realism import stripe_statistics

    mask = np.zeros((400, 60), dtype=bool)
    for start in range(0, 400, 40):
        mask[start : start + 10] = True
    stats = stripe_statistics(mask)
    assert stats == {"gap_fraction": 0.25, "width_median": 10.0, "width_p90": 10.0, "spacing_median": 40.0}


def test_synthetic_slc_off_matches_the_real_stripes(shared_data):
    """The SLC-off defaults reproduce the real scenes' gap width and spacing within 25 %."""
    from training.realism import SLC_OFF_DIR, stripe_statistics

    path = shared_data / SLC_OFF_DIR / "LS7_ETM_095_082_20100116_B30.nc"
    if not path.exists():
        pytest.skip(f"{path} is not available")
    from training.readers import read_raster
    from training.synthesis.gaps import GapConfig, slc_off_mask

    real = stripe_statistics(np.isnan(read_raster(path)[0]))
    rng = np.random.default_rng(0)
    draws = [stripe_statistics(slc_off_mask((1000, 1000), rng, GapConfig())) for _ in range(10)]
    for key in ("gap_fraction", "width_p90", "spacing_median"):
        synthetic = np.mean([d[key] for d in draws])
        assert abs(synthetic - real[key]) <= 0.25 * real[key], (key, synthetic, real[key])


def test_synthesis_imports_nothing_from_the_data_package() -> None:
    """Imports point one way: ``training.data`` builds on ``training.synthesis``, never the reverse
    (also not through a function-level import)."""
    import ast
    from pathlib import Path

    import training.synthesis

    for path in Path(training.synthesis.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                module = "." * node.level + (node.module or "")
                assert not module.startswith(("..data", "training.data")), f"{path.name} imports {module}"
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("training.data") for a in node.names), path.name


def test_the_other_date_is_the_same_place_in_another_radiometry_with_its_own_gaps():
    from dataclasses import replace

    from training.synthesis.gaps import GapConfig, other_date, synthesize_gaps

    rng = np.random.default_rng(0)
    clean = np.stack([smooth_noise((64, 64), rng, base_scale=16.0) for _ in range(3)]).astype(np.float32)
    config = GapConfig(reference_probability=1.0, reference_gap_probability=1.0,
                       reference_change_probability=0.0)  # fmt: skip
    deg = synthesize_gaps({"optical": clean}, np.random.default_rng(1), config, RGB)
    ref = deg.inputs["reference"]
    known = np.isfinite(ref).all(axis=0)
    assert ref.shape == clean.shape and 0.05 < 1 - known.mean() < 0.6  # SLC-off gaps of its own
    assert not np.allclose(ref[:, known], clean[:, known], atol=0.02)  # not a copy
    for band in range(3):  # but the same ground: strongly correlated band by band
        assert np.corrcoef(ref[band][known], clean[band][known])[0, 1] > 0.9
    # The mask of the target does not depend on whether a reference is drawn.
    single = synthesize_gaps({"optical": clean}, np.random.default_rng(1), GapConfig(), RGB)
    assert "reference" not in single.inputs and np.array_equal(single.mask, deg.mask)
    changed = other_date(clean, np.random.default_rng(2), replace(config, reference_change_probability=1.0,
                                                                  reference_gap_probability=0.0))
    assert np.isfinite(changed).all() and changed.min() >= 0.0


def test_the_haze_recipe_with_no_variation_is_the_plain_haze_draw_for_draw():
    from training.synthesis.haze_recipe import HazeRecipeConfig, synthesize_haze_recipe

    clean = {"optical": np.random.default_rng(0).uniform(0.1, 0.9, (3, 48, 48)).astype(np.float32)}
    plain = synthesize_haze(clean, np.random.default_rng(7), HazeConfig(), RGB)
    recipe = synthesize_haze_recipe(clean, np.random.default_rng(7), HazeRecipeConfig(), RGB)
    assert np.array_equal(plain.inputs["optical"], recipe.inputs["optical"])


def test_the_haze_recipes_variations_change_what_they_say():
    from training.synthesis.haze_recipe import HazeRecipeConfig, synthesize_haze_recipe

    clean = {"optical": np.random.default_rng(0).uniform(0.1, 0.9, (3, 48, 48)).astype(np.float32)}

    def draws(config: HazeRecipeConfig, n: int = 12) -> list:
        return [synthesize_haze_recipe(clean, np.random.default_rng(k), config, RGB) for k in range(n)]

    thick = np.mean([d.info["transmission"].mean() for d in draws(HazeRecipeConfig())])
    thin = np.mean([d.info["transmission"].mean() for d in draws(HazeRecipeConfig(light_share=1.0))])
    assert thin > 0.8 > thick
    assert all(np.isnan(d.inputs["optical"]).any() for d in draws(HazeRecipeConfig(nodata_share=1.0)))
    gained = draws(HazeRecipeConfig(band_gain_share=1.0, band_gain_ratio=4.0))
    assert any(not np.allclose(d.target, clean["optical"]) for d in gained)  # the reference too
