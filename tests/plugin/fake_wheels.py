"""Tiny stand-in wheels, so the installer's real ``pip install --no-index --find-links`` runs offline."""

from __future__ import annotations

import base64
import hashlib
import re
import zipfile
from pathlib import Path

#: Distribution name -> the import name its fake wheel provides.
IMPORT_NAMES = {"onnxruntime": "onnxruntime", "onnxruntime-gpu": "onnxruntime", "protobuf": "google/protobuf",
                "typing-extensions": "typing_extensions", "ml-dtypes": "ml_dtypes"}


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def fake_wheel(folder: Path, distribution: str, version: str) -> Path:
    """A pure-Python wheel of ``distribution`` whose module only has ``__version__`` (and says it is fake)."""
    normal = re.sub(r"[-_.]+", "_", distribution).lower()
    module = IMPORT_NAMES.get(re.sub(r"[-_.]+", "-", distribution).lower(), normal)
    files = {
        f"{module}/__init__.py": f'__version__ = "{version}"\nFAKE = True\n'.encode(),
        f"{normal}-{version}.dist-info/METADATA":
            f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n".encode(),
        f"{normal}-{version}.dist-info/WHEEL":
            b"Wheel-Version: 1.0\nGenerator: fake\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = f"{normal}-{version}.dist-info/RECORD"
    lines = [_record_line(name, data) for name, data in files.items()] + [f"{record},,"]
    files[record] = ("\n".join(lines) + "\n").encode()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{normal}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def wheelhouse_for(folder: Path, requirements: list[str]) -> Path:
    """A fake wheel for every ``name==version`` line (plus onnxruntime-gpu beside onnxruntime)."""
    for line in requirements:
        name, _, version = line.partition("==")
        fake_wheel(folder, name.strip(), version.strip())
        if name.strip() == "onnxruntime":
            fake_wheel(folder, "onnxruntime-gpu", version.strip())
    return folder
