"""The dependency installer (``qgis_restore_plugin/installer.py``): plan, pip command, a real pip run
from a local folder of fake wheels, the folder put first on ``sys.path``, and what diagnostics reads.

No QGIS needed: the installer is plain Python, run by QGIS's interpreter in a subprocess.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from qgis_restore_plugin import dependencies, installer
from tests.plugin.fake_wheels import fake_wheel, wheelhouse_for

PINS = installer.read_requirements()


def pins() -> dict[str, str]:
    return {installer.requirement_name(line): line for line in PINS}


def test_pins_come_from_the_plugins_requirements_file_and_the_venv_uses_them():
    names = set(pins())
    assert {"onnx", "onnxruntime", "numpy", "protobuf"} <= names
    assert all("==" in line for line in PINS), "every pin is exact: --no-deps installs exactly these"
    root = (Path(installer.__file__).parents[1] / "requirements.txt").read_text()
    assert "-r qgis_restore_plugin/requirements.txt" in root
    assert pins()["numpy"].endswith("==1.26.4") and pins()["numpy"].split("==")[1][0] == "1"


def test_plan_keeps_qgis_numpy_and_picks_the_gpu_build_only_with_an_nvidia_driver(tmp_path):
    plan = installer.make_plan(tmp_path, "auto", PINS, driver=None, numpy_reason=None)
    names = [installer.requirement_name(r) for r in plan.requirements]
    assert "numpy" not in names and "onnxruntime" in names and plan.runtime == "onnxruntime"
    assert "no NVIDIA driver" in plan.runtime_reason
    gpu = installer.make_plan(tmp_path, "auto", PINS, driver="NVIDIA driver (550.1)", numpy_reason=None)
    if gpu.runtime == "onnxruntime-gpu":  # x86_64 Linux/Windows
        assert pins()["onnxruntime"].replace("onnxruntime", "onnxruntime-gpu") in gpu.requirements
        assert not any(r.startswith("onnxruntime==") for r in gpu.requirements)
        assert "550.1" in gpu.runtime_reason and "onnxruntime-gpu" in gpu.describe()
    assert installer.choose_runtime("auto", "NVIDIA driver (x)", "x86_64", "Linux")[0] == "onnxruntime-gpu"
    assert installer.choose_runtime("auto", "NVIDIA driver (x)", "arm64", "Darwin")[0] == "onnxruntime"
    assert installer.choose_runtime("cpu", "NVIDIA driver (x)", "x86_64", "Linux")[0] == "onnxruntime"
    with pytest.raises(ValueError, match="no wheels"):
        installer.choose_runtime("gpu", None, "arm64", "Darwin")
    broken = installer.make_plan(tmp_path, "cpu", PINS, driver=None, numpy_reason="numpy 2 breaks gdal_array")
    assert pins()["numpy"] in broken.requirements and "numpy 2 breaks gdal_array" in broken.describe()


def test_pip_installs_into_a_staging_folder_never_site_packages(tmp_path):
    plan = installer.make_plan(tmp_path / "pk", "cpu", PINS, driver=None, numpy_reason=None)
    command = installer.pip_command(plan, tmp_path / "pk.partial", tmp_path / "r.txt", ["--no-index"])
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    assert "--no-deps" in command and command[command.index("--target") + 1] == str(tmp_path / "pk.partial")
    assert "--user" not in command and "--break-system-packages" not in command
    assert command[-1] == "--no-index"


def test_install_from_a_local_wheel_folder_then_the_folder_imports(tmp_path):
    requirements = ["onnx==1.19.1", "onnxruntime==1.23.2"]
    wheels = wheelhouse_for(tmp_path / "wheels", requirements)
    folder = tmp_path / "profile" / "python" / "restore_packages" / "python3.x"
    plan = installer.make_plan(folder, "cpu", requirements, driver=None, numpy_reason=None)
    lines: list[str] = []
    versions = installer.install(plan, ["--no-index", "--find-links", str(wheels)], log=lines.append)
    assert versions["onnxruntime"].startswith(f"1.23.2 at {folder}")
    assert versions["onnx"].startswith(f"1.19.1 at {folder}")
    assert (folder / "onnxruntime" / "__init__.py").is_file()
    assert not (folder.parent / "python3.x.partial").exists()
    assert any(line.startswith("Successfully installed") for line in lines), lines
    progress = [int(line.split()[1]) for line in lines if line.startswith("PROGRESS ")]
    assert progress == sorted(progress) and progress[-1] == 100
    manifest = installer.read_manifest(folder)
    assert manifest["runtime"] == "onnxruntime" and manifest["requirements"] == requirements

    # A failing install (a pin pip cannot find) keeps the working folder as it was.
    bad = installer.make_plan(folder, "cpu", ["onnxruntime==9.9.9"], driver=None, numpy_reason=None)
    with pytest.raises(RuntimeError, match="pip failed"):
        installer.install(bad, ["--no-index", "--find-links", str(wheels)], log=lines.append)
    assert (folder / "onnxruntime" / "__init__.py").is_file()
    assert installer.read_manifest(folder)["requirements"] == requirements


def test_the_gpu_build_replaces_the_cpu_build_in_place(tmp_path):
    wheels = wheelhouse_for(tmp_path / "wheels", ["onnxruntime==1.23.2"])
    folder = tmp_path / "pk"
    cpu = installer.make_plan(folder, "cpu", ["onnxruntime==1.23.2"], driver=None, numpy_reason=None)
    installer.install(cpu, ["--no-index", "--find-links", str(wheels)], log=lambda line: None)
    gpu = installer.make_plan(folder, "gpu", ["onnxruntime==1.23.2"], driver=None, numpy_reason=None)
    installer.install(gpu, ["--no-index", "--find-links", str(wheels)], log=lambda line: None)
    dist_infos = sorted(p.name for p in folder.glob("*.dist-info"))
    assert dist_infos == ["onnxruntime_gpu-1.23.2.dist-info"], dist_infos
    assert installer.read_manifest(folder)["runtime"] == "onnxruntime-gpu"


def test_activate_puts_the_folder_first_on_sys_path_with_its_pth_files(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))
    folder = tmp_path / "pk"
    extra = tmp_path / "extra"
    fake = wheelhouse_for(tmp_path / "wheels", ["fakepkg-restore==0.1"])
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target",
                    str(folder), str(next(fake.glob("*.whl")))], check=True)
    (extra / "fake_extra_mod.py").parent.mkdir()
    (extra / "fake_extra_mod.py").write_text("X = 1\n")
    (folder / "extra.pth").write_text(str(extra) + "\n")
    assert installer.activate(tmp_path / "absent") is False
    assert installer.activate(folder) is True
    assert sys.path[0] == str(folder) and str(extra) in sys.path
    import fakepkg_restore

    assert fakepkg_restore.__version__ == "0.1" and Path(fakepkg_restore.__file__).parent.parent == folder
    monkeypatch.delitem(sys.modules, "fakepkg_restore")


def test_dependencies_use_the_profile_folder_and_report_it(tmp_path, monkeypatch):
    folder = tmp_path / "restore_packages" / "python3.x"
    monkeypatch.setenv(installer.FOLDER_ENV, str(folder))
    monkeypatch.setattr(sys, "path", list(sys.path))
    assert dependencies.packages_folder() == folder
    assert dependencies.activate_packages() is None  # not installed yet: nothing put on sys.path
    report = dependencies.packages_report()
    assert report["folder"] == str(folder) and report["exists"] is False
    folder.mkdir(parents=True)
    manifest = {"runtime": "onnxruntime", "runtime_reason": "the CPU build: no NVIDIA driver found",
                "installed": {"onnxruntime": f"1.23.2 at {folder}/onnxruntime/__init__.py"},
                "requirements": ["onnxruntime==1.23.2"], "time": "2026-12-02T21:00:00"}
    (folder / installer.MANIFEST).write_text(json.dumps(manifest))
    assert dependencies.activate_packages() == folder and sys.path[0] == str(folder)
    report = dependencies.packages_report()
    assert report["on_sys_path"] is True and report["runtime"].startswith("onnxruntime (the CPU build")
    assert report["installed"]["onnxruntime"].startswith("1.23.2 at")
    assert "onnxruntime" in report["loaded_from"]  # the venv's, in this test: where it came from
    monkeypatch.setenv(installer.FOLDER_ENV, "")
    assert dependencies.packages_folder() is None


def test_dry_run_prints_the_plan_and_the_pip_command(tmp_path, capsys):
    assert installer.main(["--target", str(tmp_path / "pk"), "--runtime", "cpu", "--numpy", "skip",
                           "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"Installing into {tmp_path / 'pk'}" in out and "ONNX Runtime: onnxruntime" in out
    assert "numpy: QGIS's own is used" in out and "--no-deps --target" in out


def test_fake_wheels_are_valid_for_pip(tmp_path):
    wheel = fake_wheel(tmp_path, "typing_extensions", "4.16.0")
    assert wheel.name == "typing_extensions-4.16.0-py3-none-any.whl"


def test_a_python_without_pip_gets_told_how_to_install_pip(tmp_path):
    fake_python = tmp_path / "python3"
    fake_python.write_text("#!/bin/sh\necho \"$0: No module named pip\" >&2\nexit 1\n")
    fake_python.chmod(0o755)
    plan = installer.make_plan(tmp_path / "pk", "cpu", ["onnxruntime==1.23.2"], driver=None,
                               numpy_reason=None)
    plan.python = str(fake_python)
    with pytest.raises(RuntimeError, match="has no pip.*apt install python3-pip"):
        installer.install(plan, log=lambda line: None)
    assert not (tmp_path / "pk").exists() and not (tmp_path / "pk.partial").exists()
