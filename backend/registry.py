"""Where installed models are found, and which one a task uses.

Search path, in order: the ``resources/models`` folder beside ``backend/`` (shipped models; this also
holds inside the plugin zip, which vendors ``backend/`` and ``resources/`` side by side), the folders
in ``RESTORE_MODELS_PATH`` (``os.pathsep`` separated), folders added with ``add_search_path``, and the
per-user folder. Each folder may hold an ``index.json``:

    {"models": [{"file": "dehaze-hsmr-lite.onnx", "task": "dehaze", "name": "dehaze-hsmr-lite",
                 "sha256": "...", "default": true}]}

A listed model whose file does not hash to its ``sha256`` refuses to load; the bytes that were
hashed are the bytes ONNX Runtime runs (``backend.model_file``). An index must be a JSON object
with a ``models`` list of entries whose ``file`` is a plain name inside the index's folder. A
malformed index is never fatal for the other folders: it is skipped, and ``index_problems`` (shown
by ``models``, ``diagnose`` and in "no model" errors) names it and says what is wrong.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

from .errors import ModelIntegrityError, ModelNotFoundError, ModelTaskMismatchError
from .model_card import ModelCard
from .model_file import load_model
from .package import card_from_bytes, read_card
from .tasks import get_task

INDEX_NAME = "index.json"
ENV_VAR = "RESTORE_MODELS_PATH"
#: An index is a short list; anything larger is not one (and is not read into memory).
MAX_INDEX_BYTES = 1 << 20
_SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")
_extra_paths: list[Path] = []


@dataclass(frozen=True)
class ModelInfo:
    """One installed model: its index entry and its card."""

    name: str
    task: str
    path: Path
    sha256: str | None
    default: bool
    card: ModelCard
    #: The verified bytes of the package (``resolve_model`` only): what the session must run.
    data: bytes | None = field(default=None, repr=False, compare=False)


def shipped_models_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "resources" / "models"


def user_models_dir() -> Path:
    """The per-user model folder (XDG on Linux, AppData on Windows, Application Support on macOS)."""
    if sys.platform.startswith("win"):
        base = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "qgis-restore" / "models"


def add_search_path(path: str | os.PathLike[str]) -> None:
    """Also look for models in ``path`` (searched after the env var, before the per-user folder)."""
    resolved = Path(path).resolve()
    if resolved not in _extra_paths:
        _extra_paths.append(resolved)


def search_paths() -> list[Path]:
    env = [Path(p) for p in os.environ.get(ENV_VAR, "").split(os.pathsep) if p]
    paths: list[Path] = []
    for path in [shipped_models_dir(), *env, *_extra_paths, user_models_dir()]:
        if path not in paths:
            paths.append(path)
    return paths


def read_index(folder: Path) -> list[dict]:
    """The entries of ``folder/index.json`` (empty when absent); a malformed index is an error.

    Every entry is checked here, so callers can trust its types: ``file`` a plain file name inside
    ``folder`` (no ``..``, no absolute path), ``name``/``task``/``version`` strings, ``sha256`` 64
    hex digits (either case), ``default`` a boolean.
    """
    index = folder / INDEX_NAME
    if not index.is_file():
        return []
    try:
        if index.stat().st_size > MAX_INDEX_BYTES:
            raise ValueError(f"larger than {MAX_INDEX_BYTES >> 10} KiB")
        data = json.loads(index.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
        entries = data["models"]
        if not isinstance(entries, list):
            raise TypeError("'models' is not a list")
        for k, entry in enumerate(entries):
            _check_entry(entry, k)
    except RecursionError:
        raise ModelIntegrityError(f"model index {index} is malformed (nested too deeply); regenerate it "
                                  "with python -m scripts.update_model_index") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelIntegrityError(f"model index {index} is malformed ({exc}); regenerate it with "
                                  "python -m scripts.update_model_index") from None
    return entries


def _check_entry(entry: object, k: int) -> None:
    """Raise ``TypeError``/``ValueError`` naming what is wrong with entry ``k`` of an index."""
    if not isinstance(entry, dict):
        raise TypeError(f"entry {k} is not an object")
    name = entry.get("file")
    if not isinstance(name, str) or not name:
        raise TypeError(f"entry {k}: 'file' must be a file name, got {name!r}")
    if (PurePosixPath(name).is_absolute() or PureWindowsPath(name).anchor or "\\" in name
            or len(PurePosixPath(name).parts) != 1 or name in (".", "..")):
        raise ValueError(f"entry {k}: 'file' {name!r} is not a plain file name in the index's folder")
    for key in ("name", "task", "version"):
        if key in entry and not isinstance(entry[key], str):
            raise TypeError(f"entry {k}: {key!r} must be a string, got {entry[key]!r}")
    sha = entry.get("sha256")
    if sha is not None and not (isinstance(sha, str) and (sha == "" or _SHA256_RE.match(sha))):
        raise ValueError(f"entry {k}: 'sha256' must be 64 hex digits, got {sha!r}")
    if "default" in entry and not isinstance(entry["default"], bool):
        raise TypeError(f"entry {k}: 'default' must be true or false, got {entry['default']!r}")


def index_problems() -> list[str]:
    """One line per index on the search path that cannot be used (it is skipped)."""
    problems = []
    for folder in search_paths():
        try:
            read_index(folder)
        except ModelIntegrityError as exc:
            problems.append(str(exc))
    return problems


def _entry_path(folder: Path, entry: dict) -> Path:
    """The entry's file, which must resolve inside ``folder`` (a symlink may not lead out)."""
    path = folder / entry["file"]
    root = folder.resolve()
    if root not in path.resolve().parents:
        raise ModelIntegrityError(f"model file {path} listed in {folder / INDEX_NAME} lies outside that "
                                  "folder: refused")
    return path


def list_models(task: str | None = None) -> list[ModelInfo]:
    """Installed models (from every index on the search path), optionally for one task.

    Entries whose file is missing or whose card cannot be read are left out; checksums are not
    verified here (that is ``resolve_model``'s job, and ``diagnose`` reports them).
    """
    if task is not None:
        get_task(task)
    infos = (_info_from_entry(folder, entry) for folder, entry in _indexed_entries())
    return [info for info in infos if info is not None and (task is None or info.task == task)]


def _info_from_entry(folder: Path, entry: dict) -> ModelInfo | None:
    try:
        path = _entry_path(folder, entry)
        card = read_card(path)
    except Exception:  # a broken entry or card must not hide the other models
        return None
    return ModelInfo(
        name=str(entry.get("name") or card.name),
        task=str(entry.get("task") or card.task),
        path=path,
        sha256=entry.get("sha256"),
        default=bool(entry.get("default", False)),
        card=card,
    )


def _index_entry_for(path: Path) -> dict | None:
    try:
        entries = read_index(path.parent)
    except ModelIntegrityError:
        return None
    return next((e for e in entries if e.get("file") == path.name), None)


def _indexed_entries() -> list[tuple[Path, dict]]:
    """Every index entry on the search path (first one wins for a name), without opening the models.

    A malformed index is skipped (``index_problems`` reports it), so one bad folder cannot break
    the models of the others.
    """
    found: list[tuple[Path, dict]] = []
    names: set[str] = set()
    for folder in search_paths():
        try:
            entries = read_index(folder)
        except ModelIntegrityError:
            continue
        for entry in entries:
            name = str(entry.get("name") or Path(entry["file"]).stem)
            if name not in names:
                names.add(name)
                found.append((folder, entry))
    return found


def _problems_note() -> str:
    problems = index_problems()
    return f" (skipped: {'; '.join(problems)})" if problems else ""


def _load_entry(folder: Path, entry: dict) -> ModelInfo:
    """Open a listed model: read once, checksum verified on those bytes before anything parses them."""
    path = _entry_path(folder, entry)
    name = str(entry.get("name") or path.stem)
    if not path.is_file():
        raise ModelNotFoundError(f"model {name!r} is listed in {folder / INDEX_NAME} but {path} is missing")
    sha = (entry.get("sha256") or "").lower() or None  # PowerShell's Get-FileHash prints upper case
    try:
        verified = load_model(path, sha)
    except ModelIntegrityError as exc:
        raise ModelIntegrityError(f"model {name!r}: {exc}") from None
    card = card_from_bytes(verified.data, path)
    return ModelInfo(name=name, task=str(entry.get("task") or card.task), path=path, sha256=sha,
                     default=bool(entry.get("default", False)), card=card, data=verified.data)


def _stage_of(folder: Path, entry: dict) -> str | None:
    """The ``stage`` of an entry's card (``None``: the card cannot be read)."""
    info = _info_from_entry(folder, entry)
    return None if info is None else info.card.stage


def _default_model(task: str, band_count: int | None, roles: frozenset[str] | None = None,
                   stage: str | None = None) -> ModelInfo:
    """The task's default, or with ``band_count`` the first model (defaults first) whose optical
    input takes that many bands; the plain default when none does (the band check then says so).
    With ``stage``, only the models of that stage of a staged task are candidates.

    With ``roles`` (the inputs the job has, e.g. optical and SAR) a model that takes exactly those
    inputs (every given role, and no required role that is missing) comes first among the models
    with the right band count, so a SAR raster picks a SAR model where one is installed.
    """
    candidates = [(f, e) for f, e in _indexed_entries() if e.get("task") == task]
    if stage is not None:
        candidates = [(f, e) for f, e in candidates if _stage_of(f, e) == stage]
    if not candidates:
        what = f"for stage {stage!r} of task {task!r}" if stage is not None else f"for task {task!r}"
        raise ModelNotFoundError(
            f"no model is installed {what}; put a model package (.onnx) and an index.json "
            f"in {user_models_dir()} or a folder listed in {ENV_VAR}{_problems_note()}"
        )
    candidates.sort(key=lambda fe: not fe[1].get("default"))  # stable: index order within each group
    first = _load_entry(*candidates[0])

    def bands_fit(info: ModelInfo) -> bool:
        return band_count is None or len(info.card.optical_bands) == band_count

    def roles_fit(info: ModelInfo) -> bool:
        if roles is None:
            return True
        takes = {spec.role for spec in info.card.inputs}
        needs = {spec.role for spec in info.card.inputs if not spec.optional and spec.role != "mask"}
        return roles <= takes and needs <= roles

    if bands_fit(first) and roles_fit(first):
        return first
    loaded = [first] + [_load_entry(folder, entry) for folder, entry in candidates[1:]]
    for accept in ((lambda i: bands_fit(i) and roles_fit(i)), bands_fit):
        match = next((info for info in loaded if accept(info)), None)
        if match is not None:
            return match
    return first


def resolve_model(task: str, model: str | os.PathLike[str] | None = None,
                  band_count: int | None = None, roles: Iterable[str] | None = None,
                  stage: str | None = None) -> ModelInfo:
    """The model to run for ``task``: the default (``None``), a name from an index, or an .onnx path.

    ``band_count`` (the optical raster's bands) picks among the task's installed models when no
    model is named: a 4-band blue, green, red, NIR raster gets the 4-band model, an RGB one the
    RGB default. ``roles`` (the job's input roles) prefers a model that takes exactly those inputs.
    ``stage`` (a task that runs in stages) picks the default among that stage's models.
    """
    get_task(task)
    if model is None:
        info = _default_model(task, band_count, None if roles is None else frozenset(roles), stage)
    else:
        text = os.fspath(model)
        path = Path(text).expanduser()
        if path.suffix.lower() == ".onnx" or os.sep in text or path.exists():
            if not path.is_file():
                what = "is not a regular file" if path.exists() else "does not exist"
                raise ModelNotFoundError(f"model file {path} {what}")
            path = path.resolve()
            entry = _index_entry_for(path)
            if entry is not None:
                info = _load_entry(path.parent, entry)
            else:
                verified = load_model(path)
                card = card_from_bytes(verified.data, path)
                info = ModelInfo(name=card.name, task=card.task, path=path, sha256=None, default=False,
                                 card=card, data=verified.data)
        else:
            everything = _indexed_entries()
            match = next(((f, e) for f, e in everything
                          if str(e.get("name") or Path(e["file"]).stem) == text), None)
            if match is None:
                names = ", ".join(str(e.get("name")) for _, e in everything if e.get("task") == task)
                raise ModelNotFoundError(
                    f"no installed model is named {text!r}; models for {task!r}: {names or 'none'}"
                    f"{_problems_note()}")
            info = _load_entry(*match)
    if info.card.task != task:
        raise ModelTaskMismatchError(
            f"model {info.name!r} ({info.path}) is a {info.card.task!r} model, not a {task!r} model"
        )
    return info
