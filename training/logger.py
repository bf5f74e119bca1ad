"""Run logging: a CSV of every logged scalar, TensorBoard events, and a plotted training curve."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

CSV_FIELDS = ("step", "split", "name", "value")


class RunLogger:
    """Appends ``(step, split, name, value)`` rows to ``metrics.csv`` and mirrors them to TensorBoard."""

    def __init__(self, out_dir: Path, tensorboard: bool = True) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.csv_path = self.out_dir / "metrics.csv"
        new = not self.csv_path.exists()
        self._file = open(self.csv_path, "a", newline="")  # noqa: SIM115 (closed in close())
        self._csv = csv.writer(self._file)
        if new:
            self._csv.writerow(CSV_FIELDS)
        self._tb = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(self.out_dir / "tb"))

    def log(self, step: int, split: str, values: dict[str, float]) -> None:
        for name, value in values.items():
            self._csv.writerow((step, split, name, f"{float(value):.6g}"))
            if self._tb is not None:
                self._tb.add_scalar(f"{split}/{name}", float(value), step)
        self._file.flush()

    def close(self) -> None:
        self._file.close()
        if self._tb is not None:
            self._tb.close()


def read_metrics(csv_path: Path) -> dict[tuple[str, str], list[tuple[int, float]]]:
    """``{(split, name): [(step, value), ...]}`` from a run's ``metrics.csv``."""
    series: dict[tuple[str, str], list[tuple[int, float]]] = {}
    with open(csv_path, newline="") as f:
        for row in csv.DictReader(f):
            series.setdefault((row["split"], row["name"]), []).append((int(row["step"]), float(row["value"])))
    return series


def plot_curve(csv_path: Path, out_path: Path) -> Path:
    """Training loss (and validation loss) against step beside validation PSNR; saves a PNG."""
    series = read_metrics(csv_path)
    fig, (ax_loss, ax_psnr) = plt.subplots(1, 2, figsize=(10, 4))
    for (split, name), points in sorted(series.items()):
        if name == "total":
            steps, values = zip(*points, strict=True)
            ax_loss.plot(steps, values, label=f"{split} loss", alpha=0.8 if split == "val" else 0.5)
        if name == "psnr" and split == "val":
            steps, values = zip(*points, strict=True)
            ax_psnr.plot(steps, values, marker="o", label="val PSNR")
    ax_loss.set(xlabel="step", ylabel="loss", yscale="log", title="loss")
    ax_psnr.set(xlabel="step", ylabel="dB", title="validation PSNR")
    for ax in (ax_loss, ax_psnr):
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend()
    fig.tight_layout()
    fig.savefig(out_path, dpi=100)
    plt.close(fig)
    return out_path
