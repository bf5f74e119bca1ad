"""Checkpoints hold the weights *and* the specs that built them, so export needs only the file."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path
from typing import Any

import torch

from .archs import build_arch
from .config import TaskSpec, TrainConfig
from .model import RestorationModel

FORMAT = 1


def save_checkpoint(path: Path, *, spec: TaskSpec, train_config: TrainConfig, arch_config: Any,
                    model: RestorationModel, step: int, best_psnr: float, **state: Any) -> None:  # fmt: skip
    """Write atomically (temp file + rename): a crash never leaves a truncated ``last.pt``."""
    payload = {
        "format": FORMAT,
        "task_spec": spec.to_dict(),
        "train_config": dataclasses.asdict(train_config),
        "arch": spec.arch,
        "arch_config": dataclasses.asdict(arch_config),
        "model": model.net.state_dict(),
        "step": step,
        "best_psnr": best_psnr,
        **{k: v.state_dict() if hasattr(v, "state_dict") else v for k, v in state.items()},
    }
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)


def load_checkpoint(path: str | Path, *, trusted: bool = False) -> dict[str, Any]:
    """The raw checkpoint dict; ``FileNotFoundError``/``ValueError`` name the problem.

    Checkpoints in the older format of the former dehaze script's own loop (``spec`` and
    ``state_dict``, no ``format``) are read too, and come back under this format's keys.
    Only tensors and plain data are unpickled (``weights_only``): a checkpoint is a pickle, and a
    full unpickle runs whatever code the file names. ``trusted=True`` lifts that for a file you made.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=not trusted)
    except pickle.UnpicklingError as exc:
        raise ValueError(
            f"checkpoint {path} holds Python objects beyond tensors and plain data, which loading it would "
            f"run code to build; load it with trusted=True only if you made it ({str(exc).splitlines()[0]})"
        ) from None
    if isinstance(payload, dict) and "format" not in payload and {"spec", "state_dict"} <= set(payload):
        return _from_dehaze_script(payload)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a training checkpoint of format {FORMAT}")
    return payload


def _from_dehaze_script(payload: dict[str, Any]) -> dict[str, Any]:
    """The dehaze script's former checkpoint (weights, spec, arguments, validation history) as this
    format: the same content under other names; it had no optimizer state, so it cannot resume."""
    history = payload.get("history", [])
    return {
        "format": FORMAT,
        "task_spec": payload["spec"],
        "arch": payload["arch"],
        "arch_config": payload["arch_config"],
        "model": payload["state_dict"],
        "step": payload["step"],
        "best_psnr": max((h["val_psnr"] for h in history), default=float("nan")),
        "args": payload.get("args", {}),
        "history": history,
    }


def model_from_checkpoint(payload: dict[str, Any]) -> tuple[RestorationModel, TaskSpec]:
    """Rebuild the trained model (eval mode) and its task spec from a checkpoint dict."""
    spec = TaskSpec.from_dict(payload["task_spec"])
    net, _ = build_arch(payload["arch"], payload["arch_config"])
    net.load_state_dict(payload["model"])
    return RestorationModel(net, spec).eval(), spec
