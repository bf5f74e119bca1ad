"""Install the plugin's Python dependencies into a plugin-private folder, and put that folder on sys.path.

QGIS runs its own Python, often the system one, whose site-packages must not be touched (and on
Debian cannot be, PEP 668). So the pinned packages of ``requirements.txt`` (beside this file, carried
in the plugin zip) are installed with ``pip install --no-deps --target`` into a folder under the QGIS
profile, ``<profile>/python/restore_packages/python3.X``, which the plugin puts first on ``sys.path``
when it loads: the algorithms then import them without a restart, and no other program sees them.

One code path for both ways in: the *Install* dialog in QGIS runs this file as a subprocess, and
``make install`` (``scripts/install_plugin.sh``) runs it headless::

    python3 installer.py --profile ~/.local/share/QGIS/QGIS3/profiles/default [--runtime auto|cpu|gpu]

Extra pip options (``--find-links``, ``--no-index``, a proxy) can follow ``--``, or come from pip's own
``PIP_*`` environment variables. It prints ``PROGRESS <percent>`` lines the dialog turns into its
progress bar. This module imports nothing from QGIS and only the standard library.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import site
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: The pins, carried in the plugin zip; in a source checkout the same file.
REQUIREMENTS = HERE / "requirements.txt"
#: Written into the folder after a successful install: what was installed, with which runtime and why.
MANIFEST = "restore_packages.json"
#: Overrides the folder (tests, or a shared folder for several profiles).
FOLDER_ENV = "RESTORE_PACKAGES_DIR"
#: The modules the algorithms import, checked after an install (import name, distribution name).
CHECKED_MODULES = (("onnxruntime", "onnxruntime"), ("onnx", "onnx"), ("numpy", "numpy"))


def folder_for_profile(profile_dir: str | os.PathLike[str]) -> Path:
    """The private package folder of a QGIS profile, one per Python minor version (wheels are ABI tagged)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return Path(profile_dir) / "python" / "restore_packages" / version


def activate(folder: str | os.PathLike[str] | None) -> bool:
    """Put ``folder`` first on ``sys.path`` (with its ``.pth`` files) so its packages win over the system's.

    Returns whether the folder exists and is now on ``sys.path``. Modules already imported (numpy, in a
    running QGIS) keep their loaded version: that needs a restart, which :func:`needs_restart` tells.
    """
    if not folder:
        return False
    path = Path(folder)
    if not path.is_dir():
        return False
    entry = str(path)
    if entry in sys.path:
        sys.path.remove(entry)
    sys.path.insert(0, entry)
    site.addsitedir(entry)  # .pth files only: the folder is already on sys.path, so it is not appended
    import importlib

    importlib.invalidate_caches()
    return True


def read_requirements(path: Path = REQUIREMENTS) -> list[str]:
    """The requirement lines of a pins file (comments and blank lines dropped)."""
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def requirement_name(requirement: str) -> str:
    """The normalised distribution name of a requirement line (``onnxruntime==1.2`` -> ``onnxruntime``)."""
    name = re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def nvidia_driver() -> str | None:
    """A description of the NVIDIA driver when one is installed, else ``None``.

    Linux: ``/proc/driver/nvidia/version``; elsewhere (and as a fallback) ``nvidia-smi`` on PATH.
    """
    proc_version = Path("/proc/driver/nvidia/version")
    try:
        if proc_version.is_file():
            first = proc_version.read_text(encoding="utf-8", errors="replace").splitlines()[0]
            return f"NVIDIA driver ({first.strip()})"
    except OSError:
        pass
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            out = subprocess.run([smi, "--query-gpu=name,driver_version", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.SubprocessError):
            return None
        if out.returncode == 0 and out.stdout.strip():
            return f"NVIDIA driver ({out.stdout.strip().splitlines()[0]})"
    return None


def choose_runtime(requested: str = "auto", driver: str | None = None,
                   machine: str | None = None, system: str | None = None) -> tuple[str, str]:
    """``("onnxruntime" | "onnxruntime-gpu", reason)``: the GPU build where an NVIDIA driver is present.

    onnxruntime-gpu wheels exist for x86_64 Linux and Windows only; it also runs on the CPU, so it is
    never a worse choice there. ``requested`` ``cpu``/``gpu`` overrides the detection.
    """
    machine = (machine or platform.machine()).lower()
    system = system or platform.system()
    if requested == "cpu":
        return "onnxruntime", "the CPU build, as requested"
    gpu_platform = system in ("Linux", "Windows") and machine in ("x86_64", "amd64")
    if requested == "gpu":
        if not gpu_platform:
            raise ValueError(f"onnxruntime-gpu has no wheels for {system} {machine}; use --runtime cpu")
        return "onnxruntime-gpu", "the GPU build, as requested"
    if driver and gpu_platform:
        return "onnxruntime-gpu", f"the GPU build: {driver} found (it runs on the CPU too)"
    if driver:
        return "onnxruntime", f"the CPU build: {driver} found, but onnxruntime-gpu has no {system} wheels"
    return "onnxruntime", "the CPU build: no NVIDIA driver found"


def numpy_problem() -> str | None:
    """Why QGIS's own numpy cannot be used (missing, or not importable with GDAL), or ``None`` if it can.

    When it can, numpy is left out of the install, so the folder never shadows the numpy QGIS and its
    other plugins already use.
    """
    try:
        import numpy  # noqa: F401
    except Exception as exc:
        return f"numpy cannot be imported ({type(exc).__name__}: {exc})"
    try:
        from osgeo import gdal_array  # noqa: F401
    except ImportError as exc:
        if "osgeo" in str(exc) and "gdal_array" not in str(exc):
            return None  # no GDAL Python bindings at all: numpy is not the problem
        return f"GDAL's gdal_array cannot use this numpy ({type(exc).__name__}: {exc})"
    except Exception as exc:  # numpy ABI mismatch surfaces as other errors too
        return f"GDAL's gdal_array cannot use this numpy ({type(exc).__name__}: {exc})"
    return None


@dataclass
class InstallPlan:
    """What an install will do: where, which requirement lines, which ONNX Runtime build and why."""

    folder: str
    requirements: list[str]
    runtime: str
    runtime_reason: str
    numpy_reason: str = ""
    python: str = field(default_factory=lambda: sys.executable)

    def describe(self) -> str:
        """Human-readable summary shown before installing (dialog) and printed first (headless)."""
        numpy_line = (f"numpy is installed too: {self.numpy_reason}" if self.numpy_reason
                      else "numpy: QGIS's own is used")
        return "\n".join([
            f"Installing into {self.folder}",
            f"ONNX Runtime: {self.runtime} ({self.runtime_reason})",
            numpy_line,
            "Packages: " + " ".join(self.requirements),
        ])


def make_plan(folder: str | os.PathLike[str], runtime: str = "auto",
              requirements: Sequence[str] | None = None, driver: str | None | bool = True,
              numpy_reason: str | None | bool = True) -> InstallPlan:
    """Decide what to install. ``driver``/``numpy_reason`` ``True`` means: detect it here."""
    lines = list(requirements if requirements is not None else read_requirements())
    if driver is True:
        driver = nvidia_driver() if runtime == "auto" else None
    package, reason = choose_runtime(runtime, driver or None)
    if numpy_reason is True:
        numpy_reason = numpy_problem()
    chosen = []
    for line in lines:
        name = requirement_name(line)
        if name == "numpy" and not numpy_reason:
            continue
        if name == "onnxruntime" and package != "onnxruntime":
            line = package + line[len(re.split(r"[\s<>=!~;\[]", line, maxsplit=1)[0]):]
        chosen.append(line)
    return InstallPlan(str(folder), chosen, package, reason, numpy_reason or "")


def pip_command(plan: InstallPlan, staging: Path, requirements_file: Path,
                extra: Sequence[str] = ()) -> list[str]:
    """``python -m pip install`` of exactly the plan's pins into ``staging`` (never site-packages)."""
    return [plan.python, "-m", "pip", "install", "--no-deps", "--target", str(staging),
            "--disable-pip-version-check", "--no-input", "--progress-bar", "off",
            "--only-binary", ":all:", "-r", str(requirements_file), *extra]


def check_folder(folder: Path, python: str = sys.executable) -> dict[str, str]:
    """Import the checked modules from ``folder`` in a fresh interpreter: ``{module: "version at path"}``.

    Raises ``RuntimeError`` with the import error when one fails (a wrong wheel, a missing dependency).
    """
    code = (
        "import importlib, json, sys\n"
        f"sys.path.insert(0, {str(folder)!r})\n"
        "out = {}\n"
        f"for name, _ in {CHECKED_MODULES!r}:\n"
        "    m = importlib.import_module(name)\n"
        "    out[name] = f\"{getattr(m, '__version__', '?')} at {m.__file__}\"\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"the installed packages cannot be imported:\n{proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def read_manifest(folder: str | os.PathLike[str] | None) -> dict | None:
    """The manifest of a previous install in ``folder``, or ``None``."""
    if not folder:
        return None
    path = Path(folder) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _swap_in(staging: Path, folder: Path) -> None:
    """Replace ``folder`` by ``staging``; an old folder that cannot be removed (Windows DLLs in use) is
    left renamed beside it."""
    if folder.exists():
        old = folder.with_name(f"{folder.name}.old-{int(time.time())}")
        folder.rename(old)
        shutil.rmtree(old, ignore_errors=True)
    staging.rename(folder)


def install(plan: InstallPlan, extra_pip_args: Sequence[str] = (),
            log: Callable[[str], None] = print) -> dict[str, str]:
    """Run pip for ``plan`` into a staging folder, check the imports, then swap it in; return the versions.

    The folder in use is only replaced after the new one imports, so a failed install keeps the old one.
    """
    folder = Path(plan.folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.with_name(f"{folder.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    requirements_file = folder.parent / f"{folder.name}.requirements.txt"
    requirements_file.write_text("\n".join(plan.requirements) + "\n", encoding="utf-8")
    command = pip_command(plan, staging, requirements_file, extra_pip_args)
    log("$ " + " ".join(command))
    log("PROGRESS 2")
    total = max(1, len(plan.requirements))
    seen = 0
    no_pip = False
    env = dict(os.environ, PYTHONNOUSERSITE="1")
    try:
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env=env, bufsize=1) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                line = line.rstrip()
                log(line)
                no_pip = no_pip or "No module named pip" in line
                if line.startswith(("Collecting ", "Processing ")):
                    seen += 1
                    log(f"PROGRESS {min(80, 2 + 78 * seen // total)}")
                elif line.startswith("Installing collected packages"):
                    log("PROGRESS 85")
        if no_pip:
            raise RuntimeError(
                f"{plan.python} has no pip. Install it (Debian/Ubuntu: sudo apt install python3-pip; "
                f"elsewhere: {plan.python} -m ensurepip --user), then run the installer again")
        if proc.returncode != 0:
            raise RuntimeError(f"pip failed with exit status {proc.returncode} (its log is above)")
        log("PROGRESS 90")
        log("checking that the installed packages import ...")
        versions = check_folder(staging, plan.python)
        manifest = dict(asdict(plan), installed=versions, time=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                        platform=platform.platform())
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        _swap_in(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        requirements_file.unlink(missing_ok=True)
    log("PROGRESS 100")
    return {name: value.replace(str(staging), str(folder)) for name, value in versions.items()}


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: install the pins into the folder of ``--profile`` (or ``--target``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, extra = argv[:at], argv[at + 1:]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--profile", help="QGIS profile folder (…/QGIS3/profiles/default)")
    where.add_argument("--target", help="the package folder itself")
    parser.add_argument("--runtime", choices=("auto", "cpu", "gpu"), default="auto",
                        help="ONNX Runtime build: auto (GPU build where an NVIDIA driver is present)")
    parser.add_argument("--numpy", choices=("auto", "install", "skip"), default="auto",
                        help="install numpy too: auto (only when this Python's numpy cannot be used)")
    parser.add_argument("--requirements", type=Path, default=REQUIREMENTS, help="pins file")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and the pip command only")
    args = parser.parse_args(argv)
    folder = Path(args.target) if args.target else folder_for_profile(args.profile)
    try:
        numpy_reason: str | bool | None = {"auto": True, "skip": None}.get(
            args.numpy, "asked for (--numpy install)")
        plan = make_plan(folder, args.runtime, read_requirements(args.requirements),
                         numpy_reason=numpy_reason)
    except (OSError, ValueError) as err:
        print(f"installer: {err}", file=sys.stderr)
        return 2
    print(plan.describe(), flush=True)
    if args.dry_run:
        print(" ".join(pip_command(plan, folder.with_name(folder.name + ".partial"),
                                   Path("requirements.txt"), extra)))
        return 0
    try:
        versions = install(plan, extra, log=lambda line: print(line, flush=True))
    except (OSError, RuntimeError, subprocess.SubprocessError) as err:
        print(f"installer: {err}", file=sys.stderr)
        return 1
    for name, value in versions.items():
        print(f"installed {name} {value}")
    print(f"done: the plugin puts {folder} first on sys.path when QGIS loads it (no restart needed in QGIS)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
