"""Regenerate ``index.json`` (file, task, name, sha256, default) for the model packages in a folder.

    .venv/bin/python -m scripts.update_model_index [--dir resources/models] [--check]

Existing ``default`` flags are kept; a task (each stage of a task that runs in stages) with no
default gets its first model as default.
``--check`` changes nothing and exits 1 when the index is out of date (missing entries or checksums).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from backend.errors import RestoreError
from backend.model_file import package_sha256
from backend.package import read_card
from backend.registry import INDEX_NAME, read_index, shipped_models_dir


def build_index(folder: Path) -> dict:
    """The index ``folder`` should have, keeping default flags from the current one."""
    old = {e.get("file"): e for e in read_index(folder)}
    entries, stages = [], []
    for path in sorted(folder.glob("*.onnx")):
        card = read_card(path)
        previous = old.get(path.name, {})
        entries.append({"file": path.name, "task": card.task, "name": card.name, "version": card.version,
                        "sha256": package_sha256(path), "default": bool(previous.get("default", False))})
        stages.append((card.task, card.stage))
    for group in set(stages):
        mine = [e for e, g in zip(entries, stages, strict=True) if g == group]
        if not any(e["default"] for e in mine):
            mine[0]["default"] = True
    return {"models": entries}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=shipped_models_dir())
    parser.add_argument("--check", action="store_true", help="only verify; exit 1 when out of date")
    args = parser.parse_args(argv)
    try:
        index = build_index(args.dir)
    except RestoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    target = args.dir / INDEX_NAME
    text = json.dumps(index, indent=2) + "\n"
    if args.check:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if json.loads(current or "{}") != index:
            print(f"{target} is out of date; run python -m scripts.update_model_index", file=sys.stderr)
            return 1
        print(f"{target} is up to date ({len(index['models'])} models)")
        return 0
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target} ({len(index['models'])} models)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
