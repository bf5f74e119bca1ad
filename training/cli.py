"""``python -m training {train,export,card,evaluate,tile-sweep,archs,figures,realism,analyze}``: the
commands the Makefile runs."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import torch

from backend.errors import RestoreError

from .config import SCHEDULES
from .paths import default_data_root, default_run_dir


def _threads(value: int | None) -> None:
    if value:
        torch.set_num_threads(value)


def cmd_train(args: argparse.Namespace) -> int:
    from .chain import plan, run_config
    from .specs import get_config, get_spec

    _threads(args.threads)
    spec = get_spec(args.task, args.stage, variant=args.variant)
    if args.arch:
        spec = dataclasses.replace(spec, arch=args.arch)
    named = get_config(spec.key, args.config)
    overrides = {"steps": args.steps, "batch_size": args.batch_size, "crop": args.crop, "lr": args.lr,
                 "schedule": args.schedule, "minutes": args.minutes, "val_every": args.val_every,
                 "val_samples": args.val_samples, "seed": args.seed}  # fmt: skip
    arch_config = args.arch_config
    if arch_config and arch_config.startswith("{"):
        arch_config = json.loads(arch_config)
    stages = plan(spec, named, overrides, arch_config)
    out = Path(args.out) if args.out else default_run_dir(spec.key, args.config)
    root = Path(args.data) if args.data else default_data_root()
    init = Path(args.init) if args.init else None
    result = run_config(args.config, stages, root=root, out=out, init=init, note=named.note,
                        device=args.device, resume=args.resume, progress=not args.no_progress,
                        stop_after=args.stop_after)  # fmt: skip
    print(f"done: {result.steps} steps in {result.seconds:.0f} s, best val PSNR {result.best_psnr:.2f} dB")
    print(f"checkpoints: {result.out_dir / 'best.pt'} {result.out_dir / 'last.pt'}; curve: "
          f"{result.out_dir / 'curve.png'}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .export import export_checkpoint

    _threads(args.threads)
    report = export_checkpoint(args.checkpoint, args.out, name=args.name, version=args.version,
                               metrics_json=args.metrics)  # fmt: skip
    print(f"wrote {report.path} ({report.parameters} parameters)")
    print(f"ONNX Runtime vs PyTorch on random input: max abs difference {report.max_abs_diff:.3g}")
    return 0


def cmd_card(args: argparse.Namespace) -> int:
    from .export import recard_package
    from .specs import get_spec

    spec = get_spec(args.task, args.stage, variant=args.variant)
    metrics = json.loads(Path(args.metrics).read_text()) if args.metrics else None
    card = recard_package(args.package, spec, config=args.config, steps=args.steps, metrics=metrics)
    print(f"rewrote the card of {args.package} ({card.name} {card.version}): {card.training_recipe}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import evaluate_task, set_engine_threads

    _threads(args.threads)
    set_engine_threads(args.threads)
    root = Path(args.data) if args.data else default_data_root()
    report = evaluate_task(args.task, model=args.model, data_root=root, out_dir=Path(args.out),
                           limit=args.limit, figures=not args.no_figures, variant=args.variant)  # fmt: skip
    print(report.markdown)
    print(f"wrote {report.table_path}")
    return 0


def cmd_tile_sweep(args: argparse.Namespace) -> int:
    from .tile_sweep import run

    _threads(args.threads)
    root = Path(args.data) if args.data else default_data_root()
    _, markdown = run(args.task, args.model, root, Path(args.out), args.tiles, args.limit)
    print(markdown)
    return 0


def cmd_archs(args: argparse.Namespace) -> int:
    from .archs import ARCHS, arch_summary

    rows = [arch_summary(name) for name in sorted(ARCHS)]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'name':<14} {'full':>12} {'lite':>12} {'multiple':>8}  paper")
    for row in rows:
        print(f"{row['name']:<14} {row['full_parameters']:>12,} {row['lite_parameters']:>12,} "
              f"{row['multiple']:>8}  {row['paper']}")
    print("parameters for 3 input and 3 output bands")
    return 0


def cmd_figures(args: argparse.Namespace) -> int:
    from .figures import write_synthesis_figures

    root = Path(args.data) if args.data else default_data_root()
    if args.slcoff_model:
        from .figures import slc_off_figure

        out = Path(args.out) / "fill_gaps_real_slcoff.png"
        print(f"wrote {slc_off_figure(root, args.slcoff_model, out)}")
        return 0
    for path in write_synthesis_figures(root, Path(args.out), seed=args.seed):
        print(f"wrote {path}")
    return 0


def cmd_realism(args: argparse.Namespace) -> int:
    from .realism import cloud_comparison, slc_off_comparison

    root = Path(args.data) if args.data else default_data_root()
    if args.kind == "clouds":
        print(cloud_comparison(root, Path(args.out), draws=args.draws))
        print(f"wrote {Path(args.out) / 'clouds_real_vs_synthetic.png'}")
    else:
        print(slc_off_comparison(root, draws=args.draws))
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from .analyses import ANALYSES
    from .evaluate import set_engine_threads

    _threads(args.threads)
    set_engine_threads(args.threads)
    return ANALYSES[args.name][0](args.args)


def build_parser() -> argparse.ArgumentParser:
    from backend.tasks import TASKS

    from .analyses import ANALYSES

    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a task's model on its data recipe")
    p.add_argument("--task", required=True, choices=list(TASKS))
    p.add_argument("--variant", help="a variant of the task's spec (e.g. decloud's 's2': 13 bands)")
    p.add_argument("--stage", help="for a task that runs in stages (derain_fuse: derain, fuse): the "
                   "stage whose model to train")
    p.add_argument("--config", default="lite",
                   help="lite, full or a named config of the task (training/specs.py NAMED_CONFIGS, e.g. "
                        "dehaze's lite-1.1.0, the shipped model's four stages)")
    p.add_argument("--init", help="start the (first) stage from this checkpoint's weights (fine-tuning)")
    p.add_argument("--out", help="run folder (default runs/<task>[.<stage>]-<config>; earlier stages of a "
                   "named config in its stage<k> subfolders)")
    p.add_argument("--data", help="shared data root (default $RESTORE_SHARED_DATA or ../shared/data)")
    p.add_argument("--steps", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--crop", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--schedule", choices=SCHEDULES, help="learning-rate decay (default: the spec's)")
    p.add_argument("--minutes", type=float,
                   help="wall-clock budget (of all stages together, shared as their own budgets are): the "
                        "schedule follows the clock and --steps becomes a cap")
    p.add_argument("--val-every", type=int)
    p.add_argument("--val-samples", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--arch", help="override the spec's architecture (e.g. tiny, unet)")
    p.add_argument("--arch-config", help="architecture config: 'lite', 'full' or a JSON object")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1")
    p.add_argument("--resume", action="store_true", help="continue from <out>/last.pt")
    p.add_argument("--stop-after", type=int, help="stop this session after N steps (resume later)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("export", help="checkpoint -> ONNX model package with its model card")
    p.add_argument("checkpoint")
    p.add_argument("--out", required=True)
    p.add_argument("--name", help="model name in the card (default: the file stem)")
    p.add_argument("--version", default="0.1.0")
    p.add_argument("--metrics", help="JSON file of evaluation metrics to put in the card")
    p.add_argument("--threads", type=int)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("card", help="rewrite a package's model card from its spec and named config "
                       "(weights untouched), e.g. with new metrics")
    p.add_argument("package")
    p.add_argument("--task", required=True, choices=list(TASKS))
    p.add_argument("--variant", help="a variant of the task's spec")
    p.add_argument("--stage", help="the stage of a task that runs in stages")
    p.add_argument("--config", default="lite", help="the config that trained it (lite, full or a named one)")
    p.add_argument("--steps", type=int, nargs="+", required=True,
                   help="the step of the checkpoint kept from each stage of the config")
    p.add_argument("--metrics", help="JSON file of metrics to put in the card (default: keep the card's)")
    p.set_defaults(func=cmd_card)

    p = sub.add_parser("evaluate", help="restore test regions through the engine; PSNR/SSIM/SAM vs baselines")
    p.add_argument("--task", required=True, choices=list(TASKS))
    p.add_argument("--variant", help="a variant of the task's spec (e.g. decloud's 's2': 13 bands)")
    p.add_argument("--model", help="ONNX package (default: the installed default model of the task)")
    p.add_argument("--data", help="shared data root")
    p.add_argument("--out", default="docs/evaluation", help="folder for the table and figures")
    p.add_argument("--limit", type=int, help="evaluate at most this many test regions")
    p.add_argument("--no-figures", action="store_true")
    p.add_argument("--threads", type=int, help="CPU threads of torch and of the engine's ONNX Runtime")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("tile-sweep", help="tile size vs quality, speed and memory on the test regions")
    p.add_argument("--task", required=True, choices=list(TASKS))
    p.add_argument("--model", help="ONNX package (default: the installed default model of the task)")
    p.add_argument("--data", help="shared data root")
    p.add_argument("--out", default="docs/evaluation", help="folder for <task>_tiles.{md,json}")
    p.add_argument("--tiles", type=int, nargs="+", default=[128, 192, 256, 384, 512])
    p.add_argument("--limit", type=int, help="at most this many test regions")
    p.add_argument("--threads", type=int)
    p.set_defaults(func=cmd_tile_sweep)

    p = sub.add_parser("archs", help="registered architectures: paper, parameters (full, lite), multiple")
    p.add_argument("--json", action="store_true", help="one JSON object per architecture")
    p.set_defaults(func=cmd_archs)

    p = sub.add_parser("figures", help="write docs/figures/synthesis_<kind>.png from a real clean scene")
    p.add_argument("--data", help="shared data root")
    p.add_argument("--out", default="docs/figures")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--slcoff-model", metavar="MODEL",
                   help="instead: fill_gaps_real_slcoff.png, real Landsat-7 SLC-off gaps filled by this "
                        "fill_gaps model and the baselines")
    p.set_defaults(func=cmd_figures)

    p = sub.add_parser("realism", help="compare a synthesis with real degraded scenes (SLC-off gaps, clouds)")
    p.add_argument("--kind", choices=("gaps", "clouds"), default="gaps")
    p.add_argument("--data", help="shared data root")
    p.add_argument("--draws", type=int, default=20)
    p.add_argument("--out", default="docs/figures", help="folder for the clouds figure")
    p.set_defaults(func=cmd_realism)

    p = sub.add_parser("analyze", help="one-off measurements behind the docs: "
                       + "; ".join(f"{name}: {text}" for name, (_, text) in ANALYSES.items()))
    p.add_argument("name", choices=list(ANALYSES))
    p.add_argument("args", nargs=argparse.REMAINDER, help="the analysis's own arguments (NAME --help)")
    p.add_argument("--threads", type=int, help="CPU threads of torch and the engine (before NAME)")
    p.set_defaults(func=cmd_analyze)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (RestoreError, FileNotFoundError, KeyError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
