"""The task specs: one per task of ``backend.tasks.TASKS``, what ``train --task T`` trains.

``lite`` schedules finish in well under an hour on a 2-core CPU and give a usable model; ``full``
schedules are the published-recipe scale and want a GPU (the same command runs on both).
"""

from __future__ import annotations

import dataclasses

from backend.model_card import Normalization, TensorSpec, TileSpec
from backend.tasks import VALIDITY_BAND

from .config import PERCENTILE_01, PRESETS, NamedConfig, Stage, TaskSpec, TrainConfig
from .data.scenes import S2_BANDS

RGB = ("red", "green", "blue")

#: Dehaze: a joint gain anchored at zero (raster 0 -> 0, the hazy raster's 99.5 % -> 0.8), not a
#: percentile stretch: a stretch maps the hazy raster's darkest pixels to the bottom of the range and
#: so removes the additive haze floor, the cue of how much haze there is (with a stretch
#: the lite model plateaued below the dark channel prior; docs/MODELS.md). The
#: output range equals the input range: identity mapping, 0.8 leaves headroom for brighter clean pixels.
DEHAZE_NORMALIZATION = Normalization(mode="scale", high=99.5, per_band=False, range=(0.0, 0.8))

#: Desand: SSDIE-Net's [-1, 1] domain, anchored at zero like dehaze (raster 0 -> -1, the dusty
#: raster's 99.5 % -> 0.6), so the dust floor stays visible to the network and the tanh output can
#: reach 1.25 x that value (clean pixels darker or brighter than the dusty ones both fit).
DESAND_NORMALIZATION = Normalization(mode="scale", high=99.5, per_band=False, range=(-1.0, 0.6))

#: Decloud: a joint gain anchored at zero (raster 0 -> 0, the raster's 99.5 % -> 0.8) like dehaze: a
#: percentile stretch would map the clouds to the top and squeeze the ground beneath; ACA-CRNet adds
#: its output to its input, so input and output share one range.
DECLOUD_NORMALIZATION = Normalization(mode="scale", high=99.5, per_band=False, range=(0.0, 0.8))

#: Sentinel-1 VV and VH backscatter in dB -> x / 25 + 1: the paper's VV clip range [-25, 0] dB maps
#: to [0, 1] (its VH range [-32.5, 0] dB to [-0.3, 1]); one fixed gain keeps the VV/VH ratio.
SAR_DB_NORMALIZATION = Normalization(mode="fixed", scale=1.0 / 25.0, offset=1.0)

NITEDR_CITATION = ("NiteDR: Shi et al., Nighttime image de-raining with infrared fusion, IEEE TMM 2024 "
                   "(arXiv 2402.18172; github.com/CidanShi/NiteDR-Nighttime-Image-De-raining)")

_LITE = TrainConfig(steps=3000, batch_size=4, crop=128, lr=2e-4, val_every=250, val_samples=32)
_FULL = TrainConfig(steps=100_000, batch_size=8, crop=256, lr=1e-4, val_every=2000, val_samples=128)

TASK_SPECS: dict[str, TaskSpec] = {
    "dehaze": TaskSpec(
        task="dehaze",
        arch="hsmr",
        inputs=(TensorSpec("hazy", "optical", RGB, DEHAZE_NORMALIZATION),),
        output_bands=RGB,
        data="haze_rgb",
        # HSMR-Net's loss without the ImageNet-VGG perceptual term (no offline weights):
        # 2.5 SmoothL1 - 0.5 MS-SSIM (+ 0.0005 adversarial in the full recipe).
        losses={"smooth_l1": 2.5, "ms_ssim": 0.5},
        lite=_LITE,
        full=_FULL.replace(batch_size=4, adversarial_weight=0.0005),
        output_range=DEHAZE_NORMALIZATION.range,
        output_name="clear",
        clamp_output=False,
        # 160 px of overlap: a tiled run matches a single tile (python -m training analyze tile_invariance).
        tile=TileSpec(multiple=8, default_size=640, overlap=160),
        description="Removes haze from rasters of any dtype (uint8 photos, uint16 digital numbers): one "
        "gain for all bands (the whole raster's 99.5th percentile to 0.8), HSMR-Net, and the inverse gain. "
        "Trained on synthetic haze only; see docs/MODELS.md for held-out and real-scene results.",
        citation="Xu et al., HSMR-Net: Hierarchical Slice Information Interaction and Multi-layer Decoding "
        "Collaborative Reconstruction dehazing network (reference code: github.com/xushouyi1/HSMR-Net); "
        "haze synthesis after RS-Haze (Song et al., TIP 2023)",
    ),
    "desand": TaskSpec(
        task="desand",
        arch="msff",
        inputs=(TensorSpec("dusty", "optical", RGB, DESAND_NORMALIZATION),),
        output_bands=RGB,
        data="dust_rgb",
        # SSDIE-Net's 100 L1 + VGG perceptual + VGG style, without the ImageNet-VGG terms (no
        # offline weights): L1 + 0.2 MS-SSIM; the unsupervised branch at the paper's ratios to L1.
        losses={"l1": 1.0, "ms_ssim": 0.2},
        unlabelled="dusty_photos",
        unsupervised={"consistency": 0.01, "retinex": 0.001},
        lite=_LITE.replace(batch_size=8, lr=2e-4, schedule="cosine", adversarial_weight=0.01),
        full=_FULL.replace(batch_size=8, crop=256, lr=1e-4, adversarial_weight=0.01),
        output_range=DESAND_NORMALIZATION.range,
        clamp_output=False,
        tile=TileSpec(multiple=4, default_size=256, overlap=32),
        # The paper's dust model over clean aerial scenes: I = J T + A (1 - T), T = exp(-e d), no
        # wavelength dependence, the paper's per-band airlight; the path length d is near-constant
        # with low-frequency density variation (a nadir view), a weak ramp at most.
        synthesis={"beta": (0.4, 1.0), "angstrom": (0.0, 0.0), "ramp_share": (0.0, 0.3),
                   "airlight_red": (0.7, 1.0), "airlight_green": (0.3, 0.5), "airlight_blue": (0.0, 0.1),
                   "grey_probability": 0.3, "grey_airlight": (0.7, 0.8)},  # fmt: skip
        description="SSDIE-Net (MSFF generator) sand-dust removal of RGB imagery, trained on synthetic "
        "dust pairs (photos and aerial scenes) with a semi-supervised branch on unlabelled photos.",
        citation="SSDIE-Net, semi-supervised sand-dust image enhancement (Qadir, Bartani, Mohammed, "
        "Daneshfar; github.com/bartani/SSDIE-Net)",
    ),
    "decloud": TaskSpec(
        task="decloud",
        arch="aca_crnet",
        inputs=(TensorSpec("cloudy", "optical", RGB, DECLOUD_NORMALIZATION),),
        output_bands=RGB,
        data="clouds_rgb",
        # ACA-CRNet's loss: L1 (the paper's); Adam 7e-5 in the full recipe.
        losses={"l1": 1.0},
        # 64 px crops: the attention costs (crop/2)^4, so 128 px crops are ~15x slower per step.
        lite=_LITE.replace(batch_size=8, crop=64, lr=2e-4, schedule="cosine"),
        full=_FULL.replace(batch_size=8, crop=128, lr=7e-5),
        output_range=DECLOUD_NORMALIZATION.range,
        clamp_output=False,
        # The attention's memory grows as (tile/2)^4: 160 px keeps one tile's attention under 1 GB.
        tile=TileSpec(multiple=2, default_size=160, overlap=16),
        clean_passthrough=True,
        real_scene="landsat8_cloudy",
        description="ACA-CRNet cloud and cloud-shadow removal of RGB imagery (DSen2-CR with attentive "
        "contextual attention), trained on synthetic cumulus, cirrus and clear skies over clean scenes.",
        citation="ACA-CRNet (Huang et al., TGRS 2024, arXiv 2411.13042; "
        "github.com/huangwenwenlili/ACA-CRNet, Apache-2.0), built on DSen2-CR",
    ),
    # NiteDR (TMM 2024) in its two stages, each its own package (the task's card chain, docs/BACKEND.md).
    "derain_fuse.derain": TaskSpec(
        task="derain_fuse",
        stage="derain",
        arch="clformer",
        inputs=(TensorSpec("visible", "optical", RGB, PERCENTILE_01),),
        output_bands=RGB,
        data="night_rain",
        # CleanNet's L1 on aligned crops (the visible, infrared and clean crops share one window).
        losses={"l1": 1.0},
        lite=_LITE.replace(crop=64, lr=3e-4, schedule="cosine", val_every=200, val_samples=32),
        # The paper: 300k iterations, 64 px crops, mini-batch 4 per GPU x 2, AdamW lr 3e-4, cosine.
        full=_FULL.replace(steps=300_000, batch_size=8, crop=64, lr=3e-4, schedule="cosine"),
        # The RoadScene-rain pairs carry real (rendered) rain already: no extra streaks, only the night
        # (darkening and sensor noise), as the paper darkens its daytime pairs.
        synthesis={"streak_probability": 0.0},
        # The AgMoE gate pools over the whole tile: large tiles keep its weights near the raster's.
        tile=TileSpec(multiple=8, default_size=512, overlap=32),
        description="NiteDR stage 1: CLformer (CleanNet) de-raining of a night visible image; its output "
        "feeds the fusion stage (derain_fuse.fuse) or is written alone as the de-rained image.",
        citation=NITEDR_CITATION,
    ),
    "derain_fuse.fuse": TaskSpec(
        task="derain_fuse",
        stage="fuse",
        arch="nitedr_fusion",
        inputs=(TensorSpec("derained", "optical", RGB, PERCENTILE_01),
                TensorSpec("thermal", "infrared", ("gray",), PERCENTILE_01)),
        output_bands=RGB,
        data="night_fuse",
        # FusionNet's unsupervised losses (no fused ground truth exists): the fuser's (1 - SSIM) and
        # 20 MSE of the fused Y toward both sources' Y, the BalanceModule's SCI fidelity (1.5 MSE of
        # the illumination to the fused image) and smoothness (training.losses.FUSION_LOSSES).
        losses={"fusion_ssim": 1.0, "fusion_mse": 20.0, "sci_fidelity": 1.5, "sci_smooth": 1.0},
        lite=_LITE.replace(crop=64, lr=1e-4, schedule="cosine", val_every=200, val_samples=32),
        full=_FULL.replace(steps=50_000, batch_size=1, crop=64, lr=1e-4),
        tile=TileSpec(multiple=1, default_size=512, overlap=16),
        description="NiteDR stage 2: FusionNet (dense luminance fuser + balance module) fusion of the "
        "de-rained visible image with the co-registered infrared image.",
        citation=NITEDR_CITATION + "; balance module after SCI (Ma et al., CVPR 2022)",
    ),
    "fill_gaps": TaskSpec(
        task="fill_gaps",
        arch="pyramidal_gan",
        # Image, the hard mask with its validity plane (1 where the mask is known: nodata declared or
        # a MASK given; elsewhere MEN's soft mask decides), and an optional reference date with its
        # own validity plane (all zeros when absent): the network's 2 C + 3 layout.
        inputs=(TensorSpec("image", "optical", RGB, PERCENTILE_01),
                TensorSpec("gaps", "mask", ("mask", VALIDITY_BAND), optional=True),
                TensorSpec("reference", "reference", (*RGB, VALIDITY_BAND), PERCENTILE_01, optional=True)),
        output_bands=RGB,
        data="gaps_rgb",
        # GRSL: hole/valid-normalised L1 on both stages; TGRS: BCE of MEN's soft mask. The
        # SN-PatchGAN term (0.005 in the letter) is off in lite (CPU time), on in full.
        losses={"masked_l1": 1.0, "mask_bce": 0.2},
        lite=_LITE.replace(steps=50_000, batch_size=8, crop=64, lr=2e-4, schedule="cosine", val_every=200,
                           val_samples=64),
        full=_FULL.replace(batch_size=10, crop=256, lr=1e-4, adversarial_weight=0.005),
        # Half the samples carry a synthetic other date of the same place (training.synthesis.gaps).
        synthesis={"reference_probability": 0.5},
        clamp_output=True,  # on the reconstructed pixels only (training.model.ExportModel)
        mask_output=True,
        tile=TileSpec(multiple=4, default_size=256, overlap=32),
        description="Pyramidal GAN (MEN + UIN with dilated pyramidal convolutions and attention fusion) "
        "filling of SLC-off stripes, dead lines and nodata holes, optionally guided by another date.",
        citation="Efficient Pyramidal GAN for Versatile Missing Data Reconstruction in Remote Sensing "
        "Images (Shao, Wang, Zuo, Meng, IEEE TGRS); on the GRSL generator of Oliiveralien/Inpainting-on-RSI",
    ),
}


_VARIANTS = (
    # Decloud on Sentinel-2 L1C's 13 bands (python -m training train --task decloud --variant s2).
    dataclasses.replace(
        TASK_SPECS["decloud"],
        variant="s2",
        inputs=(TensorSpec("cloudy", "optical", S2_BANDS, DECLOUD_NORMALIZATION),),
        output_bands=S2_BANDS,
        data="clouds_s2",
        description="ACA-CRNet cloud and cloud-shadow removal of Sentinel-2 L1C's 13 bands (B1-B12 "
        "with B8A, resampled to one grid), trained on synthetic cumulus, cirrus and clear skies.",
    ),
    # The paper's SEN12MS-CR configuration: Sentinel-1 VV, VH first, then the 13 optical bands.
    # No co-registered Sentinel-1 data is at hand, so its recipe has no data: the variant is
    # built, exported and run end to end with random weights only (tests/training/test_decloud_sar.py).
    dataclasses.replace(
        TASK_SPECS["decloud"],
        variant="s2_sar",
        inputs=(TensorSpec("sar", "sar", ("vv", "vh"), SAR_DB_NORMALIZATION),
                TensorSpec("cloudy", "optical", S2_BANDS, DECLOUD_NORMALIZATION)),
        output_bands=S2_BANDS,
        data="sen12ms_cr",
        description="ACA-CRNet cloud removal of Sentinel-2 L1C's 13 bands guided by Sentinel-1 VV, VH "
        "backscatter in dB (the paper's SEN12MS-CR configuration).",
    ),
)
TASK_SPECS.update({spec.key: spec for spec in _VARIANTS})


def variants(task: str) -> tuple[str, ...]:
    """The variant names of ``task`` (``--variant``)."""
    return tuple(spec.variant for spec in TASK_SPECS.values() if spec.task == task and spec.variant)


#: The schedule of every stage of the dehaze chain: batch 8 x 128 px, Adam with a cosine decay over the
#: stage's wall-clock budget (the step count is only a cap), a ten times larger rate for a scene block
#: a stage adds (zero-initialised, it must catch up with fine-tuned weights).
_DEHAZE_STAGE = {"batch_size": 8, "crop": 128, "schedule": "cosine", "steps": 100_000,
                 "lr_scales": (("scene.", 10.0),), "val_every": 250, "val_samples": 32, "log_every": 25}
_WINDOW = {"attention_window": 15}
_THIN_HAZE = {"light_share": 0.15}

#: Named training configs beside the ``lite`` and ``full`` presets, by spec key and name:
#: ``python -m training train --task T --config NAME`` runs the stages of one.
NAMED_CONFIGS: dict[str, dict[str, NamedConfig]] = {
    "dehaze": {
        # The shipped dehaze-hsmr-lite 1.1.0: four CPU stages (two threads), each from the previous
        # stage's best checkpoint (docs/MODELS.md, "dehaze-hsmr-lite").
        "lite-1.1.0": NamedConfig(
            stages=(
                Stage(train={**_DEHAZE_STAGE, "minutes": 95.0, "lr": 4e-4}),
                Stage(train={**_DEHAZE_STAGE, "minutes": 80.0, "lr": 2e-4}, arch=_WINDOW,
                      synthesis={**_THIN_HAZE, "nodata_share": 0.25}),
                Stage(train={**_DEHAZE_STAGE, "minutes": 32.0, "lr": 1e-4}, arch=_WINDOW,
                      synthesis=_THIN_HAZE),
                Stage(train={**_DEHAZE_STAGE, "minutes": 45.0, "lr": 1e-4}, arch=_WINDOW,
                      synthesis={**_THIN_HAZE, "airlight_angstrom": (0.0, 2.0)}),
            ),
            note="the shipped weights were trained with these settings by the former dehaze script, whose "
            "validation crops were drawn with other seeds",
        ),
    },
}


def config_names(key: str) -> tuple[str, ...]:
    """The configs ``train --config`` takes for the spec ``key``: the presets and its named ones."""
    return (*PRESETS, *NAMED_CONFIGS.get(key, {}))


def get_config(key: str, name: str) -> NamedConfig:
    """The named config ``name`` of the spec ``key`` (a preset is one stage of it); raises
    ``KeyError`` listing the known ones."""
    if name in PRESETS:
        return NamedConfig(stages=(Stage(base=name),))
    if name not in NAMED_CONFIGS.get(key, {}):
        raise KeyError(f"spec {key!r} has no config {name!r}; known: {', '.join(config_names(key))}")
    return NAMED_CONFIGS[key][name]


def get_spec(task: str, stage: str | None = None, *, variant: str | None = None,
             config: str | None = None) -> TaskSpec:  # fmt: skip
    """``_get_spec``; with ``config``, the spec that config's last stage trains (its synthesis,
    bands and scene context)."""
    spec = _get_spec(task, stage, variant=variant)
    if config is None:
        return spec
    return get_config(spec.key, config).stages[-1].apply(spec)[0]


def _get_spec(task: str, stage: str | None = None, *, variant: str | None = None) -> TaskSpec:
    """The spec of ``task``, of its ``stage`` (a task that runs in stages must name one) or of its
    ``variant``: ``TASK_SPECS[key]`` for the key ``task``, ``task.stage`` or ``task.variant``
    (``task`` may be that key itself). Raises ``KeyError`` listing the known ones."""
    from backend.tasks import TASKS

    if "." in task and stage is None and variant is None:
        task, name = task.split(".", 1)
        stage, variant = (name, None) if name not in variants(task) else (None, name)
    stages = TASKS[task].stages if task in TASKS else ()
    if stage and variant:
        raise KeyError(f"name a stage or a variant of {task!r}, not both")
    if variant:
        if variant not in variants(task):
            known = ", ".join(variants(task)) or "none"
            raise KeyError(f"task {task!r} has no variant {variant!r}; known: {known}")
        return TASK_SPECS[f"{task}.{variant}"]
    if stages and not stage:
        raise KeyError(f"task {task!r} runs in stages ({', '.join(stages)}): name one (--stage)")
    if stage and stage not in stages:
        raise KeyError(f"task {task!r} has no stage {stage!r}"
                       + (f"; its stages: {', '.join(stages)}" if stages else ""))
    key = f"{task}.{stage}" if stage else task
    if key not in TASK_SPECS:
        raise KeyError(f"no training spec for {key!r}; known: {', '.join(TASK_SPECS)}")
    return TASK_SPECS[key]
