"""The one sweep of every benchmark: cases measured at each point of an axis (lengths,
durations), interleaved per point, each in its own process (:mod:`.harness`)."""
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

from espnet_mamba.bench.harness import Case, run_case

STOP_REASONS = {"timeout": "time budget", "memory": "memory budget"}


def sweep(cases: Dict[str, Tuple[str, Dict[str, Any]]], axis: str, points: Sequence[float],
          modes: Sequence[Optional[str]] = (None,), device: str = "cpu", threads: int = 0,
          warmup: int = 1, repeats: int = 3, time_budget_s: float = 300.0,
          memory_budget_mb: float = 8192.0, unit: str = "") -> List[dict]:
    """Measure every case in every mode at each point, shortest first.

    Args:
        cases: Display name -> (factory ``"module:function"``, keyword arguments); the
            factory is also given ``device``, ``<axis>=point`` and, unless None, ``mode``.
        axis: The swept keyword (``length``, ``seconds``).
        points: Its values, smallest first.
        modes: ``"infer"`` (forward only) and/or ``"train"`` (forward + backward), or
            None (the factory decides; its backward, if any, is timed).
        device: Torch device of the measurements.
        threads: Torch threads per measurement (0: torch's default).
        warmup: Untimed runs before the timed ones.
        repeats: Timed runs (the best counts).
        time_budget_s: Seconds per point before it is stopped.
        memory_budget_mb: Resident (and, on CUDA, device) MB per point before it is
            stopped.
        unit: The unit of the points, for the messages (``s``).

    Returns:
        One row per (point, case, mode): ``case, <axis>, mode, forward_s, backward_s,
        time_s`` (forward + backward), ``peak_mb, status`` and what the case reports
        (e.g. ``params_m``).  A point that fails (budget or error) stops its case in
        that mode: its larger points are not run and say ``stopped: <reason> at <point>``.
    """
    rows, stopped = [], {}
    for point in points:
        for name, (factory, kwargs) in cases.items():
            for mode in modes:
                row = dict(case=name, mode=mode, forward_s=None, backward_s=None, time_s=None,
                           peak_mb=None, status="ok")
                row[axis] = point
                if (name, mode) in stopped:
                    row["status"] = f"stopped: {stopped[name, mode]}"
                else:
                    args = dict(kwargs, **{axis: point}, **({} if mode is None else {"mode": mode}))
                    result = run_case(Case(factory, args, device, threads), warmup, repeats,
                                      time_budget_s, memory_budget_mb)
                    if result.status == "ok":
                        row.update(forward_s=result.forward_s, backward_s=result.backward_s,
                                   time_s=result.forward_s + (result.backward_s or 0.0),
                                   peak_mb=result.peak_mb, **result.extra)
                    else:
                        reason = STOP_REASONS.get(result.status, result.status)
                        row["status"] = reason
                        stopped[name, mode] = f"{reason.split(':')[0]} at {point:g}" + (
                            f" {unit}" if unit else "")
                print(f"  {axis} {point:<8g} {name:28s} {mode or '':5s} {row['status']}",
                      file=sys.stderr, flush=True)
                rows.append(row)
    return rows
