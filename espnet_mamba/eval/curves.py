"""Learning curves of ESPnet trainings, read from their ``checkpoint.pth``.

ESPnet's trainer keeps every epoch's statistics in the checkpoint's ``reporter`` state:
``stats[epoch]["train" | "valid"]`` maps each reported key (``loss``, ``si_snr_loss``,
``acc``, ...) to its epoch average, plus ``time`` (the phase's wall clock, a timedelta) and
``total_count`` (updates so far for ``train``).  This turns that into one row per epoch
with the updates and the cumulative wall clock (training + validation), so trainings on
different budgets can be compared per update and per hour.
"""
import datetime
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence

import torch


class Epoch(NamedTuple):
    epoch: int
    updates: int  # training updates up to the end of this epoch
    hours: float  # cumulative wall clock of training and validation up to here
    valid: Dict[str, float]


def _seconds(value: object) -> float:
    return value.total_seconds() if isinstance(value, datetime.timedelta) else 0.0


def read_history(exp_dir: Path) -> List[Epoch]:
    """The epochs of ``exp_dir/checkpoint.pth`` in order; errors name the file."""
    path = Path(exp_dir) / "checkpoint.pth"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no checkpoint (has the training started an epoch?)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
        stats = state["reporter"]["stats"]
    except Exception as exc:  # a truncated or foreign file: say which
        raise ValueError(f"{path}: not an ESPnet checkpoint with reporter stats ({exc})") from exc
    rows, hours = [], 0.0
    for epoch in sorted(stats):
        phases = stats[epoch]
        if "train" not in phases:
            continue
        hours += sum(_seconds(phases.get(p, {}).get("time")) for p in ("train", "valid")) / 3600
        valid = {k: float(v) for k, v in phases.get("valid", {}).items()
                 if k not in ("time", "total_count") and isinstance(v, (int, float))}
        rows.append(Epoch(int(epoch), int(phases["train"]["total_count"]), hours, valid))
    return rows


def metric(history: Sequence[Epoch], key: str, scale: float = 1.0) -> List[Optional[float]]:
    """``key`` of the validation stats per epoch, times ``scale`` (None where missing)."""
    return [scale * e.valid[key] if key in e.valid else None for e in history]


def plot(histories: Dict[str, Sequence[Epoch]], key: str, path: Path, ylabel: str,
         scale: float = 1.0, title: str = "") -> None:
    """Validation ``key`` against updates (left) and wall-clock hours (right), one line
    per training; writes a PNG to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for label, history in histories.items():
        ys = metric(history, key, scale)
        for ax, xs in zip(axes, ([e.updates for e in history], [e.hours for e in history])):
            pts = [(x, y) for x, y in zip(xs, ys) if y is not None]
            if pts:
                ax.plot(*zip(*pts), marker="o", markersize=3, label=label)
    for ax, xlabel in zip(axes, ("training updates", "wall clock, training + validation (h)")):
        ax.set(xlabel=xlabel, ylabel=ylabel)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def table(histories: Dict[str, Sequence[Epoch]], key: str, scale: float = 1.0,
          maximize: bool = False, name: str = "") -> List[str]:
    """A markdown table: per training, the epochs, updates, hours, last and best ``key``
    (times ``scale``; the best is the largest with ``maximize``, else the smallest),
    its columns headed ``name`` (default: the key)."""
    name = name or key
    lines = [f"| training | epochs | updates | wall clock (h) | last {name} "
             f"| best {name} (epoch) |",
             "|---|---|---|---|---|---|"]
    for label, history in histories.items():
        values = [(v, e.epoch) for v, e in zip(metric(history, key, scale), history)
                  if v is not None]
        if not history:
            lines.append(f"| {label} | 0 | 0 | 0 | - | - |")
            continue
        last = f"{values[-1][0]:.3f}" if values else "-"
        best = (max if maximize else min)(values) if values else None
        best_cell = f"{best[0]:.3f} ({best[1]})" if best else "-"
        end = history[-1]
        lines.append(f"| {label} | {len(history)} | {end.updates} | {end.hours:.2f} | {last} "
                     f"| {best_cell} |")
    return lines
