"""MODEL as a choice of the task's installed models, plus an .onnx file, in the Processing dialogs.

The parameter stays a string (an installed model's name, or the path of an ``.onnx`` package; empty:
the default), so ``MODEL=<name>`` keeps working in ``qgis_process``, Python scripts, batch files and
graphical models. Only its widget changes: :class:`ModelWidgetWrapper` (named in the parameter's
``widget_wrapper`` metadata, imported by the GUI alone) shows a drop-down of the installed models
(name, version, bands, the default marked), a *Model file (.onnx)…* entry with a file browser, and the
chosen model's card under it. In the modeler it also offers the model's string inputs.

The choices and cards are plain functions (:func:`model_choices`, :func:`card_html`), tested
without widgets.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from . import help_text

#: The item that opens the file browser.
BROWSE = "\x00browse"


@dataclass(frozen=True)
class ModelChoice:
    """One drop-down entry: what it shows, the MODEL value it stands for, the card shown under it."""

    label: str
    value: str
    card: str


def bands_of(card: Any) -> str:
    """``red, green, blue`` (+ ``; sar: vv, vh`` for other inputs) of a model card."""
    parts = []
    for spec in card.inputs:
        names = ", ".join(spec.bands)
        parts.append(names if spec.role == "optical" else f"{spec.role}: {names}")
    return "; ".join(parts)


def card_html(info: Any) -> str:
    """The card of an installed model (``backend.registry.ModelInfo``) as the small HTML QLabel shows."""
    card = info.card
    rows = [f"<b>{html.escape(card.name)}</b> {html.escape(str(card.version))} "
            f"({html.escape(card.architecture)}){' — default' if info.default else ''}",
            f"Bands: {html.escape(bands_of(card))}"]
    if card.description:
        rows.append(html.escape(card.description))
    if card.training_data:
        rows.append("Trained on: " + html.escape(", ".join(card.training_data)))
    if card.metrics:
        shown = [f"{k} {v}" for k, v in card.metrics.items() if isinstance(v, (int, float, str))][:6]
        if shown:
            rows.append("Metrics: " + html.escape("; ".join(shown)))
    if card.licence:
        rows.append("Licence: " + html.escape(card.licence))
    if card.citation:
        rows.append("Citation: " + html.escape(card.citation))
    rows.append(f"File: {html.escape(str(info.path))}")
    return "<br>".join(rows)


def model_choices(task: str) -> list[ModelChoice]:
    """The drop-down of ``task``: the default first (value ``""``), then every installed model."""
    models = help_text.installed_models(task)
    if isinstance(models, str):  # the registry cannot be read (dependencies missing): say so
        return [ModelChoice("Default model of the task", "", html.escape(models))]
    if not models:
        return [ModelChoice("Default model (none installed yet)", "",
                            f"No model is installed for the task '{html.escape(task)}' yet.")]
    default = next((m for m in models if m.default), models[0])
    choices = [ModelChoice(f"Default ({default.name} {default.card.version}; or the model for the "
                           "input's band count)", "", card_html(default))]
    for info in models:
        mark = " [default]" if info is default else ""
        label = f"{info.name} {info.card.version} — {bands_of(info.card)}{mark}"
        choices.append(ModelChoice(label, info.name, card_html(info)))
    return choices


def file_card(path: str) -> str:
    """What can be said about an ``.onnx`` file before running it (its card when it can be read)."""
    try:
        from . import _backend

        card = _backend.module("package").read_card(path)
    except Exception as exc:  # unreadable, not a model package, dependencies missing
        return f"Model file: {html.escape(path)}<br>(its card could not be read: {html.escape(str(exc))})"

    @dataclass
    class _Info:
        card: Any
        path: str
        default: bool = False

    return card_html(_Info(card, path))


def wrapper_metadata(task: str) -> dict[str, Any]:
    """The parameter metadata that gives MODEL this module's widget (a class path: no GUI import here).
    Processing passes the other keys (``task``) to the wrapper's ``createWidget``."""
    return {"widget_wrapper": {"class": f"{__name__}.ModelWidgetWrapper", "task": task}}


def _wrapper_class() -> type:
    """Build the wrapper class on first use: ``processing.gui`` needs the GUI libraries."""
    from processing.gui.wrappers import DIALOG_BATCH, DIALOG_MODELER, WidgetWrapper
    from qgis.core import QgsProcessingOutputString, QgsProcessingParameterString
    from qgis.PyQt.QtCore import Qt
    from qgis.PyQt.QtWidgets import (
        QComboBox,
        QFileDialog,
        QLabel,
        QSizePolicy,
        QVBoxLayout,
        QWidget,
    )

    class ModelWidgetWrapper(WidgetWrapper):
        """Drop-down of installed models + .onnx file browser + the chosen model's card."""

        def createWidget(self, task: str = "", **kwargs: Any) -> QWidget:
            self.combo = QComboBox()
            self.combo.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
            self.card = None
            if self.dialogType == DIALOG_MODELER:
                self.combo.setEditable(True)
                for source in self.dialog.getAvailableValuesOfType(QgsProcessingParameterString,
                                                                   QgsProcessingOutputString):
                    self.combo.addItem(self.dialog.resolveValueDescription(source), source)
                for choice in model_choices(task):
                    self.combo.addItem(choice.label, choice.value)
                return self.combo
            self.choices = {c.value: c for c in model_choices(task)}
            for choice in self.choices.values():
                self.combo.addItem(choice.label, choice.value)
            self.combo.addItem("Model file (.onnx)…", BROWSE)
            self.combo.activated.connect(self.activated)
            if self.dialogType == DIALOG_BATCH:
                return self.combo
            widget = QWidget()
            layout = QVBoxLayout(widget)
            layout.setContentsMargins(0, 0, 0, 0)
            layout.addWidget(self.combo)
            self.card = QLabel()
            self.card.setWordWrap(True)
            self.card.setTextFormat(Qt.RichText)
            self.card.setTextInteractionFlags(Qt.TextSelectableByMouse)
            layout.addWidget(self.card)
            self.combo.currentIndexChanged.connect(self.show_card)
            self.show_card()
            return widget

        def activated(self, index: int) -> None:
            if self.combo.itemData(index) != BROWSE:
                return
            path, _ = QFileDialog.getOpenFileName(self.combo, "Model package", "",
                                                  "ONNX model packages (*.onnx)")
            if path:
                self.setValue(path)
            else:
                self.combo.setCurrentIndex(0)

        def show_card(self) -> None:
            if self.card is None:
                return
            value = self.combo.currentData()
            choice = self.choices.get(value)
            if choice is not None:
                self.card.setText(choice.card)
            elif value and value != BROWSE:
                self.card.setText(file_card(value) if str(value).lower().endswith(".onnx")
                                  else f"Model: {html.escape(str(value))} (not installed here)")

        def setValue(self, value: Any) -> None:
            if self.dialogType == DIALOG_MODELER:
                self.setComboValue(value, self.combo)
                return
            value = "" if value is None else str(value)
            index = self.combo.findData(value)
            if index < 0:  # a file path, or a name this machine does not have: keep it as given
                index = self.combo.count() - 1
                self.combo.insertItem(index, value, value)
            self.combo.setCurrentIndex(index)
            self.show_card()

        def value(self) -> Any:
            if self.dialogType == DIALOG_MODELER:
                return self.comboValue(combobox=self.combo)
            value = self.combo.currentData()
            return "" if value in (None, BROWSE) else value

    return ModelWidgetWrapper


def __getattr__(name: str) -> Any:
    """``ModelWidgetWrapper`` is created lazily (module ``__getattr__``), so importing this module
    needs no GUI."""
    if name == "ModelWidgetWrapper":
        cls = _wrapper_class()
        globals()[name] = cls
        return cls
    raise AttributeError(name)
