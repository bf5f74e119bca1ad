"""Build the installable QGIS plugin zip: ``dist/qgis_restore_plugin.zip``.

The zip holds one folder, ``qgis_restore_plugin/``, with the plugin code (and ``requirements.txt``,
the pins its installer installs), ``metadata.txt``, the documentation the help links to
(``docs/MODELS.md``, ``docs/PLUGIN.md``), the backend vendored as ``qgis_restore_plugin/backend`` (so
it cannot clash with another package named ``backend``) and the shipped models in
``qgis_restore_plugin/resources/models`` beside it, where ``backend.registry`` looks for them. Before
writing the zip it checks that the vendored backend does not import itself by its top-level name
(that would break once installed).

Usage: python scripts/package_plugin.py [--out dist] [--without-models]
"""

from __future__ import annotations

import argparse
import configparser
import json
import re
import sys
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PLUGIN = "qgis_restore_plugin"
#: Never shipped: caches, editor and test leftovers.
EXCLUDED_PARTS = {"__pycache__", ".pytest_cache", ".ruff_cache"}
EXCLUDED_SUFFIXES = {".pyc", ".pyo"}
#: Documentation the algorithms' help links to, shipped as ``qgis_restore_plugin/docs/...``.
DOCS = ("docs/MODELS.md", "docs/PLUGIN.md")
DOC_FOLDERS = ("docs/images",)
#: ``import backend`` / ``from backend...`` at the start of a line: breaks the vendored copy.
ABSOLUTE_BACKEND_IMPORT = re.compile(r"^[ \t]*(import backend\b|from backend(\.| import))", re.MULTILINE)


class PackagingError(Exception):
    """The tree cannot be packaged as is; the message says why."""


def _files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*")
        if p.is_file() and not EXCLUDED_PARTS & set(p.parts) and p.suffix not in EXCLUDED_SUFFIXES
    )  # fmt: skip


def check_vendorable(backend_dir: Path) -> None:
    """Fail if a backend module imports ``backend`` absolutely (it must use relative imports)."""
    offenders = [
        f"{path.relative_to(REPO_ROOT)}:{text[: m.start()].count(chr(10)) + 1}"
        for path in _files(backend_dir) if path.suffix == ".py"
        for text in [path.read_text(encoding="utf-8")]
        for m in ABSOLUTE_BACKEND_IMPORT.finditer(text)
    ]  # fmt: skip
    if offenders:
        raise PackagingError(
            "the backend is vendored inside the plugin as qgis_restore_plugin.backend, so it must import "
            "itself relatively (from .x import y), but these lines import 'backend' absolutely: "
            + ", ".join(offenders)
        )


def model_files(models_dir: Path) -> list[Path]:
    """``index.json`` and the model files it lists (a listed file that is missing is an error)."""
    index = models_dir / "index.json"
    if not index.is_file():
        return []
    entries = json.loads(index.read_text(encoding="utf-8")).get("models", [])
    files = [index]
    for entry in entries:
        path = models_dir / entry["file"]
        if not path.is_file():
            raise PackagingError(f"{index} lists {entry['file']}, which does not exist")
        files.append(path)
    return files


def plugin_version() -> str:
    parser = configparser.ConfigParser()
    parser.read(REPO_ROOT / "metadata.txt", encoding="utf-8")
    return parser["general"]["version"]


def build(out_dir: Path, with_models: bool = True) -> Path:
    """Write ``out_dir/qgis_restore_plugin.zip`` and return its path."""
    check_vendorable(REPO_ROOT / "backend")
    entries: list[tuple[Path, str]] = []  # (source file, path inside the zip)
    for path in _files(REPO_ROOT / PLUGIN):
        if path.name == "metadata.txt":
            continue  # a link to the repository's metadata.txt, added below as a real file
        entries.append((path, f"{PLUGIN}/{path.relative_to(REPO_ROOT / PLUGIN).as_posix()}"))
    entries.append((REPO_ROOT / "metadata.txt", f"{PLUGIN}/metadata.txt"))
    for name in ("LICENSE", "LICENSE.txt", "README.md"):
        if (REPO_ROOT / name).is_file():
            entries.append((REPO_ROOT / name, f"{PLUGIN}/{name}"))
    for path in _files(REPO_ROOT / "backend"):
        entries.append((path, f"{PLUGIN}/backend/{path.relative_to(REPO_ROOT / 'backend').as_posix()}"))
    for name in DOCS:
        if not (REPO_ROOT / name).is_file():
            raise PackagingError(f"{name} is linked from the algorithms' help but does not exist")
        entries.append((REPO_ROOT / name, f"{PLUGIN}/{name}"))
    for folder in DOC_FOLDERS:
        for path in _files(REPO_ROOT / folder) if (REPO_ROOT / folder).is_dir() else []:
            entries.append((path, f"{PLUGIN}/{path.relative_to(REPO_ROOT).as_posix()}"))
    for path in _files(REPO_ROOT / "resources" / "icons"):
        entries.append((path, f"{PLUGIN}/resources/icons/{path.name}"))
    models_dir = REPO_ROOT / "resources" / "models"
    if with_models:
        for path in model_files(models_dir):
            entries.append((path, f"{PLUGIN}/resources/models/{path.name}"))
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{PLUGIN}.zip"
    partial = target.with_suffix(".zip.partial")  # never leave a half-written zip under the real name
    with zipfile.ZipFile(partial, "w") as archive:
        for source, name in entries:
            compression = zipfile.ZIP_STORED if source.suffix == ".onnx" else zipfile.ZIP_DEFLATED
            archive.write(source, name, compress_type=compression)
    partial.replace(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "dist", help="output folder (default: dist)")
    parser.add_argument("--without-models", action="store_true", help="leave the shipped models out")
    args = parser.parse_args(argv)
    try:
        target = build(args.out, with_models=not args.without_models)
    except PackagingError as err:
        print(f"package_plugin: {err}", file=sys.stderr)
        return 1
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
    models = [n for n in names if n.endswith(".onnx")]
    size = target.stat().st_size / 2**20
    print(f"{target} ({size:.1f} MiB, version {plugin_version()}, {len(names)} files, "
          f"{len(models)} models: {', '.join(Path(m).name for m in models) or 'none'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
