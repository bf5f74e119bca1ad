"""Checkpoint -> ONNX model package: dynamic spatial axes, the validated model card, a parity check.

``export_checkpoint`` traces ``ExportModel`` (one ONNX input per card input, opset 17, the
TorchScript exporter), embeds the card built from the checkpoint's task spec with the backend's own
``embed_card`` (which validates it), runs ``validate_package``, then feeds the same random input,
at a size other than the traced one, to ONNX Runtime and PyTorch and reports the max abs difference.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch

from backend.model_card import SCHEMA_VERSION, STAGE_SCHEMA_VERSION, ModelCard, TensorSpec
from backend.package import embed_card, validate_package

from .archs import describe_arch
from .checkpoint import load_checkpoint, model_from_checkpoint
from .config import PRESETS, TaskSpec, TrainConfig
from .data.prepare import like_input
from .data.recipes import recipe_sources
from .data.unlabelled import UNLABELLED_CITATIONS
from .model import ExportModel, RestorationModel

OPSET = 17
#: ORT and PyTorch must agree this closely on random input, or export fails.
TOLERANCE = 1e-3


@dataclass
class ExportReport:
    path: Path
    card: ModelCard
    max_abs_diff: float
    parameters: int


def _schedule(cfg: TrainConfig) -> str:
    """How the learning rate moved, in words, for the card's recipe."""
    decay = ("cosine decay" if cfg.schedule == "cosine"
             else f"x{cfg.lr_gamma} at {list(cfg.lr_milestones)} of the run")  # fmt: skip
    scales = "".join(f", x{f:g} for {p}*" for p, f in cfg.lr_scales)
    budget = f", over a {cfg.minutes:g}-minute wall-clock budget" if cfg.minutes else ""
    return decay + scales + budget


def _stage_text(entry: dict[str, Any], *, with_synthesis: bool) -> str:
    """One run of a recipe: architecture, steps (of the checkpoint kept) and schedule."""
    tc = TrainConfig.from_dict(entry["train_config"])
    arch = json.dumps(entry["arch_config"], sort_keys=True)
    text = (f"arch {entry['arch']} {arch}; {entry['step']} steps, "
            f"batch {tc.batch_size}, crop {tc.crop}, Adam lr {tc.lr} ({_schedule(tc)})")
    if with_synthesis and entry.get("synthesis"):
        text += f", synthesis {json.dumps(entry['synthesis'], sort_keys=True)}"
    return text


def recipe_text(spec: TaskSpec, stages: list[dict[str, Any]], config: str = "lite", note: str = "") -> str:
    """The card's ``training_recipe``: the command, every stage (``training.chain.chain_entry``,
    first run first, the exported one last), then what all stages share."""
    command = (f"python -m training train --task {spec.task}"
               + (f" --stage {spec.stage}" if spec.stage else "")
               + ("" if config == "lite" else f" --config {config}"))
    named = config not in PRESETS
    if len(stages) == 1:
        body = _stage_text(stages[0], with_synthesis=named)
    else:
        body = (f"{len(stages)} stages, each from the previous stage's best checkpoint: "
                + "; ".join(f"({k}) {_stage_text(e, with_synthesis=named)}" for k, e in enumerate(stages, 1)))
    last = TrainConfig.from_dict(stages[-1]["train_config"])
    return (
        f"{command}: {body}, losses {json.dumps(spec.losses, sort_keys=True)}, "
        f"adversarial {last.adversarial_weight}, "
        + (f"unsupervised {json.dumps(spec.unsupervised, sort_keys=True)} on {spec.unlabelled!r}, "
           if spec.unlabelled else "")
        + f"data recipe {spec.data!r}, seed {last.seed}" + (f" ({note})" if note else "")
    )  # fmt: skip


def build_card(spec: TaskSpec, *, name: str, version: str, arch: str, arch_config: dict[str, Any],
               training_recipe: str, parameters: int, metrics: dict[str, Any] | None = None) -> ModelCard:
    """The model card of a trained ``spec`` (validated by ``embed_card``)."""
    outputs = [TensorSpec(name=spec.output_name, role="optical", bands=spec.output_bands,
                          range=spec.output_range, like=like_input(spec).name)]  # fmt: skip
    if spec.mask_output:
        outputs.append(TensorSpec(name="mask", role="mask", bands=("mask",), range=(0.0, 1.0)))
    return ModelCard(
        task=spec.task, name=name, version=version, architecture=describe_arch(arch, arch_config),
        inputs=spec.inputs,
        outputs=tuple(outputs), tile=spec.tile, citation=spec.citation, description=spec.description,
        training_data=recipe_sources(spec.data) + UNLABELLED_CITATIONS.get(spec.unlabelled or "", ()),
        training_recipe=training_recipe, licence=spec.licence,
        metrics=dict(metrics or {}), parameters=parameters, stage=spec.stage,
        schema_version=STAGE_SCHEMA_VERSION if spec.stage else SCHEMA_VERSION,
    )  # fmt: skip


def checkpoint_recipe(payload: dict[str, Any], spec: TaskSpec) -> str:
    """The recipe of a checkpoint: the stages it records (``chain``), then its own."""
    own = {"arch": payload["arch"], "arch_config": payload["arch_config"],
           "train_config": payload["train_config"], "synthesis": spec.synthesis, "step": int(payload["step"])}
    stages = [*payload.get("chain", []), own]
    return recipe_text(spec, stages, payload.get("config", "lite"), payload.get("note", ""))


def input_names(spec: TaskSpec) -> list[str]:
    """The ONNX inputs in ``ExportModel``'s order: every card input, then its scene context."""
    names = [s.name for s in spec.inputs]
    context = spec.context_input
    return names + ([context.context.name] if context is not None else [])


def _random_inputs(spec: TaskSpec, size: tuple[int, int], seed: int) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    tensors = []
    for s in spec.inputs:
        x = torch.rand(1, len(s.bands), *size, generator=gen)
        tensors.append((x > 0.7).float() if s.role == "mask" else x)
    if spec.context_features:
        tensors.append(torch.rand(1, spec.context_features, generator=gen))
    return tensors


def export_model(model: RestorationModel, spec: TaskSpec, out: Path, *, card: ModelCard) -> ExportReport:
    """Trace, embed ``card``, validate, and check ORT against PyTorch; the graph's outputs take the
    card's names (``TaskSpec.output_name``, and ``mask``)."""
    wrapper = ExportModel(model, spec).eval()
    m = spec.tile.multiple
    trace_size = (8 * m, 8 * m)
    names_in = input_names(spec)
    names_out = [o.name for o in card.outputs]
    axes = {n: {0: "batch", 2: "height", 3: "width"} for n in names_in + names_out}
    context = spec.context_input
    if context is not None:  # (N, K): one vector per tile
        axes[context.context.name] = {0: "batch"}
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.onnx"
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer chatter about shape-dependent Python branches
            torch.onnx.export(
                wrapper, tuple(_random_inputs(spec, trace_size, 0)), str(raw), dynamo=False,
                opset_version=OPSET, input_names=names_in, output_names=names_out, dynamic_axes=axes,
            )  # fmt: skip
        proto = onnx.load(str(raw))
    out = embed_card(proto, card, out)
    try:
        validate_package(out)
        diff = parity(wrapper, out, spec, size=(11 * m, 9 * m))
        if diff > TOLERANCE:
            raise ValueError(f"ONNX Runtime differs from PyTorch by {diff:.3g} (> {TOLERANCE}) on {out}")
    except BaseException:
        out.unlink(missing_ok=True)  # never leave a package that looks complete but is not
        raise
    return ExportReport(out, card, diff, card.parameters or 0)


def parity(
    wrapper: torch.nn.Module, path: Path, spec: TaskSpec, size: tuple[int, int], seed: int = 1
) -> float:
    """Max abs difference of all outputs between ONNX Runtime and PyTorch on random input."""
    import onnxruntime as ort

    inputs = _random_inputs(spec, size, seed)
    with torch.no_grad():
        expected = wrapper(*inputs)
    expected = expected if isinstance(expected, tuple) else (expected,)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {n: x.numpy() for n, x in zip(input_names(spec), inputs, strict=True)})
    return max(float(np.abs(g - e.numpy()).max()) for g, e in zip(got, expected, strict=True))


def export_checkpoint(checkpoint: str | Path, out: str | Path, *, name: str | None = None,
                      version: str = "0.1.0", metrics_json: str | None = None) -> ExportReport:  # fmt: skip
    """``python -m training export CHECKPOINT --out resources/models/NAME.onnx``."""
    payload = load_checkpoint(checkpoint)
    model, spec = model_from_checkpoint(payload)
    out = Path(out)
    metrics = json.loads(Path(metrics_json).read_text()) if metrics_json else {}
    if payload.get("best_psnr") is not None and np.isfinite(payload["best_psnr"]):
        metrics.setdefault("val_psnr_synthetic_db", round(float(payload["best_psnr"]), 3))
    parameters = sum(p.numel() for p in model.net.parameters())
    if "train_config" not in payload:
        raise ValueError(f"{checkpoint} was written by the former dehaze script's loop and holds no training "
                         "config, so its recipe is unknown: train with python -m training train")
    card = build_card(
        spec, name=name or out.stem, version=version, arch=payload["arch"],
        arch_config=payload["arch_config"],
        training_recipe=checkpoint_recipe(payload, spec), parameters=parameters, metrics=metrics,
    )  # fmt: skip
    return export_model(model, spec, out, card=card)


def recard_package(package: str | Path, spec: TaskSpec, *, config: str, steps: list[int],
                   metrics: dict[str, Any] | None = None, note: str = "") -> ModelCard:  # fmt: skip
    """Rewrite the card of a package trained by ``config``'s stages (``steps``: the step of the
    checkpoint kept from each) from the spec, as export writes it; the weights are not touched.
    The card keeps its name and version, and its metrics unless ``metrics`` replaces them. The
    network the config builds must have the package's parameter count, or nothing is written."""
    from backend.package import read_card

    from .archs import build_arch, count_parameters
    from .chain import chain_entry, plan
    from .specs import get_config

    package = Path(package)
    old = read_card(package)
    named = get_config(spec.key, config)
    stages = plan(spec, named)
    if len(steps) != len(stages):
        raise ValueError(f"config {config!r} has {len(stages)} stages: give one step count each, "
                         f"got {len(steps)}")
    last = stages[-1]
    parameters = count_parameters(build_arch(last.spec.arch, last.arch_config)[0])
    if old.task != spec.task or old.parameters != parameters:
        raise ValueError(f"{package} ({old.task}, {old.parameters} parameters) is not a model of config "
                         f"{config!r} of {spec.key!r} ({parameters} parameters)")
    entries = [chain_entry(stage, step) for stage, step in zip(stages, steps, strict=True)]
    card = build_card(last.spec, name=old.name, version=old.version, arch=last.spec.arch,
                      arch_config=last.arch_config, parameters=parameters,
                      training_recipe=recipe_text(last.spec, entries, config, note or named.note),
                      metrics=old.metrics if metrics is None else metrics)  # fmt: skip
    with tempfile.TemporaryDirectory(dir=package.parent) as tmp:
        written = embed_card(onnx.load(str(package)), card, Path(tmp) / package.name)
        validate_package(written)
        written.replace(package)
    return card
