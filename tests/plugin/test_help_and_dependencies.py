"""Pure parts of the plugin that need no QGIS: help text from model cards, install instructions."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

from backend.job import OPTIONS
from backend.model_card import ModelCard, Normalization, TensorSpec
from qgis_restore_plugin import dependencies, help_text


def card(**changes) -> ModelCard:
    base = ModelCard(
        task="dehaze", name="dehaze-hsmr-lite", version="1.2", architecture="HSMR-Net",
        inputs=(TensorSpec("optical", "optical", ("red", "green", "blue"), Normalization()),),
        outputs=(TensorSpec("restored", "optical", ("red", "green", "blue"), like="optical"),),
        citation="Xu et al., HSMR-Net, 2023", licence="CC-BY-4.0", description="lite dehazer",
    )
    return dataclasses.replace(base, **changes)


@dataclasses.dataclass
class Info:  # the fields of backend.registry.ModelInfo the help reads
    name: str
    default: bool
    card: ModelCard


def test_help_names_default_model_version_citation_and_the_others():
    four = ("blue", "green", "red", "nir")
    other = card(name="other-dehazer", citation="",
                 inputs=(TensorSpec("optical", "optical", four, Normalization()),),
                 outputs=(TensorSpec("restored", "optical", four, like="optical"),))
    models = (Info("other-dehazer", False, other), Info("dehaze-hsmr-lite", True, card()))
    text = help_text.models_html("dehaze", models)
    assert "dehaze-hsmr-lite 1.2 (HSMR-Net)" in text
    assert "<b>Citation.</b> Xu et al., HSMR-Net, 2023" in text
    assert "CC-BY-4.0" in text and "other-dehazer 1.2 (HSMR-Net; blue, green, red, nir): lite dehazer" in text


def test_help_without_models_says_the_algorithm_fails_until_one_is_installed():
    assert "No model is installed for the task 'desand'" in help_text.models_html("desand", ())
    reason = "The installed models could not be listed (ImportError: onnx)"
    assert reason in help_text.models_html("desand", reason)


def test_help_explains_strength_only_where_the_algorithm_has_it(monkeypatch):
    monkeypatch.setattr(help_text, "installed_models", lambda task: ())
    with_strength = help_text.algorithm_help("dehaze", "Removes haze.", "A hazy raster.", strength=True)
    assert "<i>Strength</i>" in with_strength
    assert "<i>Strength</i>" not in help_text.algorithm_help("fill_gaps", "Fills gaps.", "A raster.")
    with_level = help_text.algorithm_help("dehaze", "Removes haze.", "A hazy raster.", black_level=True)
    assert "<i>Black level</i>" in with_level and "5000" in with_level
    assert "<i>Black level</i>" not in with_strength


def test_install_instructions_point_to_the_plugins_installer_and_folder(monkeypatch, tmp_path):
    missing = [dependencies.MissingDependency("onnxruntime", "onnxruntime", "ImportError: nope")]
    folder = tmp_path / "restore_packages" / "python3.11"
    monkeypatch.setenv("RESTORE_PACKAGES_DIR", str(folder))
    monkeypatch.setattr(sys, "platform", "linux")
    text = dependencies.instructions(missing)
    assert "onnxruntime (ImportError: nope)" in text
    assert f"plugin's own folder ({folder})" in text and "Install button" in text
    command = text.splitlines()[-2].strip()
    python, script = command.split()[:2]
    assert Path(python).name.startswith("python")  # an interpreter, not the QGIS binary
    assert script.strip('"').endswith("qgis_restore_plugin/installer.py")
    assert f'--target "{folder}"' in command
    assert "--user" not in text and "break-system-packages" not in text


def test_log_panel_text_is_escaped_so_requirements_survive():
    pytest.importorskip("qgis.core", reason="QGIS Python bindings (python3-qgis) not installed")
    from qgis_restore_plugin.provider import log_text

    assert log_text('pip install "numpy<2" onnx') == 'pip install "numpy&lt;2" onnx'
    assert log_text("a\nb") == "a\nb"  # the panel itself turns newlines into <br>


def test_check_reports_a_module_that_cannot_be_imported(monkeypatch):
    assert dependencies.check() == []  # the project venv has everything
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    missing = dependencies.check()
    assert [m.name for m in missing] == ["onnxruntime"]
    assert dependencies.versions()["onnxruntime"].startswith("missing")


@pytest.mark.parametrize("options, expected", [
    (("bands",), "(BANDS)"),
    (("overlap", "tile_size"), "(OVERLAP, TILE_SIZE)"),
    (("strength",), "(STRENGTH)"),
    (("black_level",), "(BLACK_LEVEL)"),
    (("allow_large",), "(ALLOW_LARGE)"),
    (("resample",), "(Raster > Projections > Warp)"),
    (("threads",), "what to do"),  # no such parameter in QGIS: the message alone
    ((), "what to do"),
])
def test_backend_errors_name_parameters_not_cli_options(options, expected):
    pytest.importorskip("qgis.core", reason="QGIS Python bindings (python3-qgis) not installed")
    from backend.errors import InvalidOptionError
    from qgis_restore_plugin.algorithms.base import OPTION_PARAMETERS, user_message

    assert user_message(InvalidOptionError("what to do", options=options)) == (
        f"what to do {expected}" if expected.startswith("(") else "what to do")
    assert set(OPTION_PARAMETERS) <= set(OPTIONS)  # every name is a RestoreJob option
