"""The *Install Python dependencies* dialog: runs ``installer.py`` in QGIS's Python, shows its progress
and the pip log, then loads the packages into this QGIS session.

The install itself is the headless installer run as a subprocess (``QProcess``, so QGIS stays
responsive and Cancel works): one code path for the dialog and ``make install``. The ONNX Runtime
build is decided here (``installer.make_plan``: onnxruntime-gpu where an NVIDIA driver is present),
shown before anything is installed, and passed on explicitly.
"""

from __future__ import annotations

import html
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from qgis.PyQt.QtCore import QProcess, QProcessEnvironment, Qt, pyqtSignal
from qgis.PyQt.QtGui import QFont
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from . import dependencies, installer

PROGRESS_LINE = re.compile(r"^PROGRESS (\d+)$")
RUNTIMES = (
    ("auto", "automatic"), ("cpu", "CPU build (onnxruntime)"), ("gpu", "NVIDIA GPU build (onnxruntime-gpu)")
)


class InstallDialog(QDialog):
    """Shows the plan, runs the installer with a progress bar and its log, reports the outcome.

    ``installed`` is emitted with a one-line summary once the packages were installed and load.
    """

    installed = pyqtSignal(str)

    def __init__(self, parent: object | None = None, folder: Path | None = None,
                 requirements: Path = installer.REQUIREMENTS, pip_args: Sequence[str] = ()) -> None:
        super().__init__(parent)
        self.setWindowTitle("Raster Restoration: install Python dependencies")
        self.folder = folder or dependencies.packages_folder()
        self.requirements = requirements
        self.pip_args = list(pip_args)
        self.process: QProcess | None = None
        self.summary = ""

        missing = dependencies.check()
        intro = ("QGIS's Python cannot import: " + ", ".join(m.name for m in missing) + "."
                 if missing else "Every dependency imports already; you can reinstall them.")
        self.intro = QLabel(intro + " The pinned packages are installed with pip into the plugin's own "
                            "folder under the QGIS profile; the system's Python packages are not touched, "
                            "and they are loaded without restarting QGIS.")
        self.intro.setWordWrap(True)
        self.runtime = QComboBox()
        for key, label in RUNTIMES:
            self.runtime.addItem(label, key)
        self.runtime.currentIndexChanged.connect(self.update_plan)
        self.plan_label = QLabel()
        self.plan_label.setWordWrap(True)
        self.plan_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setFont(QFont("monospace"))
        self.log.setLineWrapMode(QPlainTextEdit.NoWrap)
        self.log.setMinimumSize(640, 160)
        self.install_button = QPushButton("Install")
        self.install_button.clicked.connect(self.start)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Close)
        self.buttons.addButton(self.install_button, QDialogButtonBox.ActionRole)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        row = QHBoxLayout()
        row.addWidget(QLabel("ONNX Runtime:"))
        row.addWidget(self.runtime, 1)
        layout.addLayout(row)
        layout.addWidget(self.plan_label)
        layout.addWidget(self.progress)
        layout.addWidget(self.log, 1)
        layout.addWidget(self.buttons)
        self.plan: installer.InstallPlan | None = None
        self.update_plan()

    # -- plan ----------------------------------------------------------------------------------
    def update_plan(self) -> None:
        """Recompute and show what will be installed for the chosen runtime."""
        if self.folder is None:
            self.plan = None
            self.plan_label.setText("No QGIS profile folder is known, so there is nowhere to install.")
            self.install_button.setEnabled(False)
            return
        try:
            self.plan = installer.make_plan(self.folder, self.runtime.currentData(),
                                            installer.read_requirements(self.requirements))
        except (OSError, ValueError) as err:
            self.plan = None
            self.plan_label.setText(html.escape(str(err)))
            self.install_button.setEnabled(False)
            return
        self.plan_label.setText(html.escape(self.plan.describe()).replace("\n", "<br>"))
        self.install_button.setEnabled(True)

    def command(self) -> tuple[str, list[str]]:
        """Program and arguments of the installer subprocess for the current plan."""
        assert self.plan is not None
        args = [str(Path(installer.__file__).resolve()), "--target", str(self.folder),
                "--runtime", self.runtime.currentData(),
                "--numpy", "install" if self.plan.numpy_reason else "skip",
                "--requirements", str(self.requirements)]
        if self.pip_args:
            args += ["--", *self.pip_args]
        return dependencies.qgis_python(), args

    # -- running -------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the installer; the dialog stays responsive and Close cancels it."""
        if self.plan is None or self.process is not None:
            return
        program, args = self.command()
        self.log.clear()
        self.progress.setValue(0)
        self.install_button.setEnabled(False)
        self.runtime.setEnabled(False)
        self.process = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        self.process.setProcessEnvironment(env)
        self.process.setProcessChannelMode(QProcess.MergedChannels)
        self.process.readyReadStandardOutput.connect(self.read_output)
        self.process.finished.connect(self.finished)
        self.process.errorOccurred.connect(self.failed_to_start)
        self.append(f"$ {program} {' '.join(args)}")
        self.process.start(program, args)

    def append(self, line: str) -> None:
        match = PROGRESS_LINE.match(line)
        if match:
            self.progress.setValue(int(match.group(1)))
        else:
            self.log.appendPlainText(line)

    def read_output(self) -> None:
        assert self.process is not None
        text = bytes(self.process.readAllStandardOutput()).decode("utf-8", "replace")
        for line in text.splitlines():
            self.append(line)

    def failed_to_start(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.FailedToStart:
            self.append(f"could not start {dependencies.qgis_python()}: is it QGIS's Python?")
            self.finished(-1, QProcess.CrashExit)

    def finished(self, code: int, status: QProcess.ExitStatus = QProcess.NormalExit) -> None:
        """Load the packages into this session and say what happened."""
        if self.process is None:
            return
        self.read_output()
        self.process = None
        self.runtime.setEnabled(True)
        if code != 0 or status != QProcess.NormalExit:
            self.install_button.setEnabled(True)
            self.append(f"The install failed (exit status {code}); nothing was changed. See the log above.")
            return
        installer.activate(self.folder)
        missing = dependencies.check()
        if missing:
            restart = any(m.name == "numpy" for m in missing) or "numpy" in sys.modules and bool(
                self.plan and self.plan.numpy_reason)
            self.append("Installed, but some packages still cannot be imported in this session"
                        + (" (numpy was already loaded: restart QGIS)" if restart else "") + ":")
            for m in missing:
                self.append(f"  - {m.name}: {m.error}")
            return
        versions = dependencies.versions()
        self.summary = (f"Installed and loaded without a restart: onnxruntime {versions.get('onnxruntime')} "
                        f"({self.plan.runtime if self.plan else ''}), onnx {versions.get('onnx')}, "
                        f"in {self.folder}")
        self.append(self.summary)
        self.progress.setValue(100)
        self.installed.emit(self.summary)

    def reject(self) -> None:
        """Close; a running install is killed first (the folder in use is left as it was)."""
        if self.process is not None:
            self.process.kill()
            self.process.waitForFinished(5000)
            self.process = None
        super().reject()
