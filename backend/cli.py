"""Command line: ``python -m backend restore | models | validate | diagnose``.

Errors are one line (what, which file, what to do) and a non-zero exit code; ``--debug`` shows the
traceback. ``--json`` replaces the progress bar with one JSON object per line on stdout.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any, TextIO

from .errors import RestoreError, describe
from .job import OPTIONS
from .tasks import TASKS, get_task

EXIT_ERROR = 1
EXIT_BUG = 3
EXIT_INTERRUPTED = 130
#: The flag of each ``RestoreJob`` option, shown after an error that asks to change it.
FLAGS: dict[str, str] = {option: "--" + option.replace("_", "-") for option in OPTIONS}
#: The stage results the CLI can write apart, by flag: ``--derained PATH`` (derain_fuse's stage 1).
STAGE_FLAGS: dict[str, str] = {"derain": "--derained"}
FLAGS["stage_outputs"] = ", ".join(STAGE_FLAGS.values())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m backend", description="Restore degraded rasters.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("restore", help="restore a raster with a task's model")
    run.add_argument("--task", required=True, help=f"one of {', '.join(TASKS)}")
    run.add_argument("--model", help="installed model name or path to a .onnx package (default: the task's "
                     "default, or its model that takes the input's number of bands)")
    run.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or tensorrt (default auto)")
    run.add_argument("--tile-size", type=int, help="tile edge in pixels (default from the model card)")
    run.add_argument("--overlap", type=int, help="overlap between tiles in pixels (default from the card)")
    run.add_argument("--batch-size", type=int, help="tiles per model call (default: 4 on CPU, fits the GPU)")
    run.add_argument("--threads", type=int, help="CPU threads for the model (default: one per core)")
    run.add_argument("--bands", help="1-based bands of the optical input, e.g. 4,3,2")
    run.add_argument("--mask-output", help="fill_gaps: also write the mask of reconstructed pixels here")
    run.add_argument("--reference", metavar="RASTER",
                     help="fill_gaps: the same place on another date, to fill the gaps from (optional; "
                          "with --resample when it is on another grid)")
    run.add_argument("--derained", metavar="PATH",
                     help="derain_fuse: also write the de-rained visible image (stage 1) here")
    run.add_argument("--resample", action="store_true", help="resample extra inputs onto the first's grid")
    run.add_argument("--float-output", action="store_true", help="write float32 instead of the input dtype")
    with_strength = ", ".join(t.id for t in TASKS.values() if t.takes_strength)
    run.add_argument("--strength", type=float, default=1.0,
                     help=f"{with_strength}: share of the model's change to keep, 0-1 (default 1)")
    with_black_level = ", ".join(t.id for t in TASKS.values() if t.takes_black_level)
    run.add_argument("--black-level", type=float, default=0.0, metavar="VALUE",
                     help=f"{with_black_level}: the input's value of black ground, taken off before the "
                          "model and added back (Landsat 8/9 L1: 5000; Sentinel-2 since 2022: 1000; "
                          "default 0)")
    run.add_argument("--allow-large", action="store_true",
                     help="skip the checks of raster size, memory and free disk space made before the run")
    run.add_argument("--extent", metavar="XMIN,YMIN,XMAX,YMAX[,CRS]",
                     help="restore only this rectangle (in the optical raster's CRS, or in CRS, e.g. "
                          "EPSG:4326); the output covers it on the input's pixel grid")
    run.add_argument("--region", metavar="VECTOR",
                     help="restore only inside the polygons of this vector file (any CRS); pixels outside "
                          "them keep the input's values, the output covers their bounding box")
    run.add_argument("--json", action="store_true", help="print JSON progress lines instead of a bar")
    run.add_argument("rasters", nargs="+", metavar="INPUT [INPUT2 ...] OUTPUT",
                     help="inputs in the task's order (e.g. optical then infrared), then the output")
    run.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    models = sub.add_parser("models", help="list installed models per task")
    models.add_argument("--task", help="only this task")
    models.add_argument("--json", action="store_true")

    check = sub.add_parser("validate", help="check a model package (card, tensors, ONNX Runtime)")
    check.add_argument("model", help="path to a .onnx package")
    check.add_argument("--json", action="store_true")

    diag = sub.add_parser("diagnose", help="versions, working devices, installed models")
    diag.add_argument("--json", action="store_true")
    return parser


class ProgressBar:
    """A one-line bar on a terminal (stderr); silent when stderr is not a terminal."""

    def __init__(self, stream: TextIO = sys.stderr, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.enabled = stream.isatty()
        self.began = time.perf_counter()

    def __call__(self, fraction: float) -> None:
        if not self.enabled:
            return
        filled = int(round(fraction * self.width))
        elapsed = time.perf_counter() - self.began
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\r[{bar}] {fraction * 100:5.1f}% {elapsed:6.1f}s")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")


def _emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}, default=str), flush=True)


def _roles_for(task_id: str, count: int) -> list[str]:
    slots = get_task(task_id).inputs
    if count > len(slots):
        raise RestoreError(f"task {task_id!r} takes at most {len(slots)} input raster(s) "
                           f"({', '.join(s.role for s in slots)}), got {count}")
    return [slot.role for slot in slots[:count]]


def _check_takes(task_id: str, role: str, flag: str) -> None:
    if role not in {slot.role for slot in get_task(task_id).inputs}:
        raise RestoreError(f"task {task_id!r} takes no {role} input, so no {flag}")


def _restore(args: argparse.Namespace) -> int:
    from .pipeline import RestoreJob, restore

    if len(args.rasters) < 2:
        raise RestoreError("restore needs at least one INPUT and an OUTPUT path")
    *sources, output = args.rasters
    roles = _roles_for(args.task, len(sources))
    bands = None
    if args.bands:
        try:
            bands = [int(b) for b in args.bands.split(",")]
        except ValueError:
            raise RestoreError(f"--bands must be comma-separated integers, got {args.bands!r}") from None
    bar = None
    if args.json:
        def progress(fraction: float) -> None:
            _emit("progress", fraction=round(fraction, 4))

        def log(message: str) -> None:
            _emit("log", message=message)
    else:
        bar = ProgressBar()
        progress = bar

        def log(message: str) -> None:
            if args.debug:
                print(message, file=sys.stderr)
    try:
        inputs = dict(zip(roles, sources, strict=True))
        if args.reference:
            if "reference" in inputs:
                raise RestoreError("the reference raster is given twice (positional and --reference)")
            _check_takes(args.task, "reference", "--reference")
            inputs["reference"] = args.reference
        job = RestoreJob(args.task, inputs, output, model=args.model, device=args.device,
                         tile_size=args.tile_size, overlap=args.overlap, batch_size=args.batch_size,
                         threads=args.threads, bands=bands, mask_output=args.mask_output,
                         stage_outputs={stage: getattr(args, flag[2:]) for stage, flag in STAGE_FLAGS.items()
                                        if getattr(args, flag[2:])},
                         resample=args.resample, float_output=args.float_output,
                         strength=args.strength, black_level=args.black_level,
                         allow_large=args.allow_large, extent=args.extent, region=args.region)
        result = restore(job, progress=progress, log=log)
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        _emit("done", output=result.output, mask_output=result.mask_output,
              stage_outputs=result.stage_outputs, model=result.model,
              provider=result.provider, device=result.device, tiles=result.tiles,
              skipped_tiles=result.skipped_tiles, seconds=result.seconds)
    else:
        print(f"wrote {result.output} with {result.model} on {result.provider} "
              f"({result.tiles} tile(s), {result.seconds['total']:.1f} s)")
        for stage, path in result.stage_outputs.items():
            print(f"wrote {path} ({stage} stage)")
    return 0


def _models(args: argparse.Namespace) -> int:
    from .registry import index_problems, list_models

    infos = list_models(args.task)
    for problem in index_problems():  # skipped, not fatal: the other folders' models still list
        print(f"warning: {problem}", file=sys.stderr)
    if args.json:
        print(json.dumps([{"name": m.name, "task": m.task, "path": str(m.path), "default": m.default,
                           "version": m.card.version, "bands": list(m.card.optical_bands), "sha256": m.sha256}
                          for m in infos], indent=2))
        return 0
    for task_id in ([args.task] if args.task else TASKS):
        print(f"{task_id}:")
        mine = [m for m in infos if m.task == task_id]
        if not mine:
            print("  (no model installed)")
        for m in mine:
            mark = " (default)" if m.default else ""
            print(f"  {m.name} {m.card.version}{mark}  bands: {', '.join(m.card.optical_bands)}  {m.path}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from .model_file import package_sha256
    from .package import validate_package

    card = validate_package(args.model)
    if args.json:
        report = {"valid": True, "sha256": package_sha256(args.model), "card": card.to_dict()}
        print(json.dumps(report, indent=2))
    else:
        print(f"{args.model}: valid {card.task} model {card.name} {card.version} "
              f"({', '.join(s.name for s in card.inputs)} -> {', '.join(s.name for s in card.outputs)})")
    return 0


def _diagnose(args: argparse.Namespace) -> int:
    from .diagnostics import diagnose

    report = diagnose()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    for key, value in report.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for k, v in value.items():
                print(f"  {k}: {v}")
        elif isinstance(value, list):
            print(f"{key}:")
            for item in value:
                print(f"  {item}")
        else:
            print(f"{key}: {value}")
    return 0


COMMANDS = {"restore": _restore, "models": _models, "validate": _validate, "diagnose": _diagnose}


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: unwinds like Ctrl-C, so the temporary output is deleted."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated(signum)


@contextmanager
def _termination_unwinds():
    """While a command runs, SIGTERM and SIGHUP raise ``Terminated`` in the main thread."""
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for name in ("SIGTERM", "SIGHUP"):
            number = getattr(signal, name, None)
            if number is not None:
                previous[number] = signal.signal(number, _terminate)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    args = _parser().parse_args(argv)
    try:
        with _termination_unwinds():
            return COMMANDS[args.command](args)
    except Terminated as stop:
        name = signal.Signals(stop.signum).name
        print(f"error: stopped by {name}; no output was written", file=sys.stderr)
        return 128 + stop.signum
    except RestoreError as exc:
        if args.debug:
            raise
        print(f"error: {describe(exc, FLAGS)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("error: interrupted; no output was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: say so, briefly
        if args.debug:
            raise
        print(f"error: internal error ({type(exc).__name__}: {exc}); rerun with --debug and report it",
              file=sys.stderr)
        return EXIT_BUG
