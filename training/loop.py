"""The training loop: the same code on CPU and CUDA, resumable, logged, checkpointed.

Writes into ``out_dir``: ``metrics.csv`` and ``tb/`` (TensorBoard) with the training loss terms
(means over the last ``log_every`` steps) and validation loss/PSNR/SSIM every ``val_every`` steps; ``last.pt``
(each validation and at the end) and ``best.pt`` (best validation PSNR); ``curve.png``.

The run lasts ``steps`` steps or, with ``minutes``, a wall-clock budget (a time-boxed CPU fine-tune),
and its learning rate follows ``TrainConfig.lr_factor`` of the share done (step decay or cosine),
scaled per parameter group (``lr_scales``). It may start from given weights (``init_state``).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from .archs import build_arch
from .checkpoint import load_checkpoint, save_checkpoint
from .config import TaskSpec, TrainConfig
from .data.prepare import like_input
from .logger import RunLogger, plot_curve
from .losses import (
    PatchDiscriminator,
    build_loss,
    discriminator_loss,
    generator_adversarial_loss,
    ssim,
    staged_loss,
    uses_stages,
)
from .model import RestorationModel
from .semi_supervised import build_unsupervised_loss


@dataclass
class TrainResult:
    out_dir: Path
    steps: int
    best_psnr: float
    last_val: dict[str, float]
    seconds: float
    #: The run reached its end (steps or budget), rather than stopping early (``stop_after``).
    finished: bool = True


def pick_device(device: str = "auto") -> torch.device:
    """``auto`` = CUDA when available, else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def seed_everything(seed: int) -> None:
    np.random.seed(seed)
    torch.manual_seed(seed)


def _batches(dataset: Dataset, cfg: TrainConfig, start_step: int) -> Iterator[dict[str, torch.Tensor]]:
    """Batches from step ``start_step`` on: sample ``step * batch + k`` (exact resume)."""
    indices = range(start_step * cfg.batch_size, cfg.steps * cfg.batch_size)
    loader = DataLoader(dataset, batch_size=cfg.batch_size, sampler=indices, num_workers=cfg.num_workers)
    yield from loader


def _context(batch: dict[str, torch.Tensor], device: torch.device) -> torch.Tensor | None:
    """The batch's scene-context vectors (N, K) on ``device``, or ``None`` for a spec without one."""
    context = batch.get("context")
    return None if context is None else context.to(device, non_blocking=True)


def loss_inputs(model: RestorationModel) -> dict[str, torch.Tensor] | None:
    """What a network without a target keeps for its losses after a forward pass (NiteDR's fusion
    stage, ``training.losses.FUSION_LOSSES``), else ``None``."""
    return getattr(model.net, "loss_inputs", None)


def validate(model: RestorationModel, dataset: Dataset, spec: TaskSpec, loss_fn: Any,
             device: torch.device, batch_size: int) -> dict[str, float]:  # fmt: skip
    """Mean loss terms, PSNR and SSIM over the fixed validation set.

    PSNR and SSIM use the output range as data range; outputs are clamped to it only for specs
    that clamp on export (``clamp_output``), so the numbers describe what the package produces.
    """
    model.eval()
    lo, hi = spec.output_range
    totals: dict[str, float] = {}
    count = 0
    with torch.no_grad():
        for batch in DataLoader(dataset, batch_size=batch_size):
            x, y = batch["input"].to(device), batch["target"].to(device)
            pred = model(x, _context(batch, device)).float()
            terms = loss_fn(pred, y, loss_inputs(model))
            if uses_stages(spec.losses):
                staged = staged_loss(model.stages, y, spec.losses)
                terms["total"] = terms["total"] + staged.pop("total")
                terms.update(staged)
            terms = {k: float(v) for k, v in terms.items()}
            clamped = pred.clamp(lo, hi) if spec.clamp_output else pred
            mse = ((clamped - y) ** 2).flatten(1).mean(1).clamp_min(1e-12)
            terms["psnr"] = float((10 * torch.log10((hi - lo) ** 2 / mse)).sum())
            terms["ssim"] = float(ssim(clamped, y, data_range=hi - lo)) * len(x)
            for k, v in terms.items():
                totals[k] = totals.get(k, 0.0) + (v if k in ("psnr", "ssim") else v * len(x))
            count += len(x)
    model.train()
    return {k: v / count for k, v in totals.items()}


def _param_groups(model: nn.Module, cfg: TrainConfig) -> list[dict[str, Any]]:
    """One optimizer group per ``cfg.lr_scales`` prefix (first match wins) and one for the rest,
    each with its ``scale``; empty groups are left out."""
    groups: dict[float, list[nn.Parameter]] = {}
    for name, param in model.named_parameters():
        scale = next((f for prefix, f in cfg.lr_scales if name.startswith(prefix)), 1.0)
        groups.setdefault(scale, []).append(param)
    return [{"params": params, "scale": scale} for scale, params in groups.items()]


def load_initial_weights(net: nn.Module, state: Mapping[str, torch.Tensor],
                         new: tuple[str, ...] = ()) -> None:  # fmt: skip
    """Fine-tuning: ``state`` into ``net``. Parameters under a prefix in ``new`` may be missing (a
    block the checkpoint did not have keeps its initialisation); anything else that does not fit is
    an error naming the keys, not a silently half-loaded model."""
    missing, unexpected = net.load_state_dict(state, strict=False)
    absent = [k for k in missing if not k.startswith(new)] if new else list(missing)
    if absent or unexpected:
        raise ValueError(f"the initial weights do not fit the network: missing {absent}, "
                         f"unexpected {unexpected}")


def train(
    spec: TaskSpec,
    cfg: TrainConfig,
    *,
    train_set: Dataset,
    val_set: Dataset,
    out_dir: Path,
    arch_config: Any = "lite",
    device: str = "auto",
    resume: bool = False,
    progress: bool = True,
    stop_after: int | None = None,
    init_state: Mapping[str, torch.Tensor] | None = None,
    init_new: tuple[str, ...] = (),
    metadata: Mapping[str, Any] | None = None,
    unlabelled_set: Dataset | None = None,
) -> TrainResult:
    """Train ``spec``'s architecture on ``train_set`` for ``cfg.steps`` steps, or for ``cfg.minutes``
    of wall-clock time (see module docstring).

    ``stop_after`` ends this call after that many steps (with a checkpoint), as if interrupted: a
    time-boxed CPU session continues later with ``resume=True`` on the same schedule.
    ``init_state`` starts from those weights (fine-tuning; ``load_initial_weights``, with ``init_new``
    the prefixes that may be missing); a resumed run ignores it. ``metadata`` (e.g. the command line)
    is stored in every checkpoint. ``unlabelled_set`` (inputs only) adds the semi-supervised branch
    of ``spec.unsupervised`` (``training.semi_supervised``); with a discriminator, its restored
    images are the critic's fakes instead of the supervised outputs.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dev = pick_device(device)
    seed_everything(cfg.seed)
    net, arch_cfg = build_arch(spec.arch, arch_config, in_channels=spec.in_channels,
                               out_channels=spec.out_channels,
                               context_features=spec.context_features)  # fmt: skip
    last_path, best_path = out_dir / "last.pt", out_dir / "best.pt"
    if init_state is not None and not (resume and last_path.exists()):
        load_initial_weights(net, init_state, init_new)
    model = RestorationModel(net, spec).to(dev).train()
    optimizer = torch.optim.Adam(_param_groups(model.net, cfg), lr=cfg.lr, betas=(0.9, 0.999))
    use_amp = cfg.amp and dev.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    disc = disc_opt = None
    if cfg.adversarial_weight > 0:
        disc = PatchDiscriminator(spec.out_channels).to(dev).train()
        disc_opt = torch.optim.Adam(disc.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
    loss_fn = build_loss(spec.losses)
    staged_losses = uses_stages(spec.losses)
    unsup_fn = None
    if unlabelled_set is not None:
        unsup_fn = build_unsupervised_loss(spec.unsupervised, like_input(spec).normalization.range,
                                           spec.output_range)  # fmt: skip

    step, best_psnr, spent, finished = 0, -math.inf, 0.0, False
    if resume and last_path.exists():
        state = load_checkpoint(last_path)
        model.net.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        if disc is not None and state.get("disc") is not None:
            disc.load_state_dict(state["disc"])
            disc_opt.load_state_dict(state["disc_opt"])
        step, best_psnr = int(state["step"]), float(state["best_psnr"])
        spent = float(state.get("seconds", 0.0))

    start_step = step
    logger = RunLogger(out_dir)
    extra = {
        "optimizer": optimizer,
        "scaler": scaler,
        "disc": disc,
        "disc_opt": disc_opt,
        **dict(metadata or {}),
    }
    started = time.time()

    def seconds() -> float:
        """Training time of the run so far, across resumes (the wall-clock budget's clock)."""
        return spent + time.time() - started

    def done_share() -> float:
        """Share of the run done: by the clock with a budget, else by steps."""
        return seconds() / (60.0 * cfg.minutes) if cfg.minutes else step / cfg.steps

    def checkpoint(path: Path) -> None:
        save_checkpoint(path, spec=spec, train_config=cfg, arch_config=arch_cfg, model=model,
                        step=step, best_psnr=best_psnr, seconds=seconds(), **extra)  # fmt: skip

    autocast = (lambda: torch.autocast("cuda", dtype=torch.float16)) if use_amp else contextlib.nullcontext
    last_val: dict[str, float] = {}
    running: dict[str, float] = {}
    running_count = 0
    bar = tqdm(total=None if cfg.minutes else cfg.steps, initial=step, desc=f"train {spec.task}",
               disable=not progress, unit="step")
    unlabelled = _batches(unlabelled_set, cfg, step) if unlabelled_set is not None else None
    for batch in _batches(train_set, cfg, step):
        lr = cfg.lr * cfg.lr_factor(done_share())
        for group in optimizer.param_groups:
            group["lr"] = lr * group["scale"]
        x, y = batch["input"].to(dev, non_blocking=True), batch["target"].to(dev, non_blocking=True)
        with autocast():
            pred = model(x, _context(batch, dev))
        terms = loss_fn(pred.float(), y, loss_inputs(model))
        if staged_losses:
            staged = staged_loss(model.stages, y, spec.losses)
            terms["total"] = terms["total"] + staged.pop("total")
            terms.update(staged)
        total = terms["total"]
        fake = pred
        if unlabelled is not None:
            u = next(unlabelled)["input"].to(dev, non_blocking=True)
            with autocast():
                unsup = unsup_fn(model, u)
            fake = unsup.pop("restored")
            total = total + unsup.pop("total")
            terms.update(unsup)
        if disc is not None:
            with autocast():
                adv = generator_adversarial_loss(disc(fake))
            terms["adversarial"] = adv.float()
            total = total + cfg.adversarial_weight * adv.float()
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(total).backward()
        if cfg.grad_clip:
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        scaler.step(optimizer)
        scaler.update()
        if disc is not None:
            with autocast():
                d_loss = discriminator_loss(disc(y), disc(fake.detach()))
            disc_opt.zero_grad(set_to_none=True)
            d_loss.backward()
            disc_opt.step()
            terms["discriminator"] = d_loss.detach()
        step += 1
        bar.update(1)
        running["total"] = running.get("total", 0.0) + float(total.detach())
        for k, v in terms.items():
            if k != "total":
                running[k] = running.get(k, 0.0) + float(v.detach())
        running_count += 1
        finished = step == cfg.steps or (cfg.minutes is not None and done_share() >= 1.0)
        if step % cfg.log_every == 0 or finished:
            # Means over the steps since the last log: single batches are too noisy to read.
            values = {k: v / running_count for k, v in running.items()}
            values["lr"] = lr
            logger.log(step, "train", values)
            running, running_count = {}, 0
            val_psnr = last_val.get("psnr", float("nan"))
            bar.set_postfix(loss=f"{values['total']:.4f}", val_psnr=f"{val_psnr:.2f}")
        if step % cfg.val_every == 0 or finished:
            last_val = validate(model, val_set, spec, loss_fn, dev, cfg.batch_size)
            logger.log(step, "val", last_val)
            if last_val["psnr"] > best_psnr:
                best_psnr = last_val["psnr"]
                checkpoint(best_path)
            checkpoint(last_path)
            plot_curve(logger.csv_path, out_dir / "curve.png")
        if finished:
            break
        if stop_after is not None and step >= start_step + stop_after:
            if step % cfg.val_every:  # not just saved by the validation above
                checkpoint(last_path)
            break
    bar.close()
    logger.close()
    if step == start_step and last_path.exists():  # resumed a finished run: nothing left to do
        last_val, finished = {"psnr": best_psnr}, True
    return TrainResult(out_dir, step, best_psnr, last_val, time.time() - started, finished)
