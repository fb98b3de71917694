"""Isolated measurements: each case runs in a fresh ``spawn`` process, so its peak
memory is its own (the peak during the timed runs above the level after set-up:
``VmHWM`` over ``VmRSS`` on CPU, max allocated on CUDA), and a case that exceeds its
time or memory budget is stopped cleanly.

Also the duration sweep of the ``encoders``/``separators`` benchmarks
(:func:`sweep_durations`) and its analysis: growth exponents (:func:`fit_exponent`)
and crossover durations (:func:`crossover`).
"""
import importlib
import math
import multiprocessing as mp
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch


def _proc_kb(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


@dataclass
class Case:
    """What to measure: ``make(**kwargs)`` returns ``(forward, backward_or_None)``
    callables (``backward`` is given ``forward``'s output), optionally with a third,
    ``report()``, whose dict of numbers (gathered over the runs) lands in
    :attr:`Result.extra`."""

    factory: str  # "module:function"
    kwargs: Dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"
    threads: int = 0  # 0: torch's default


@dataclass
class Result:
    status: str  # "ok", "timeout", "memory", "error: ..."
    forward_s: Optional[float] = None
    backward_s: Optional[float] = None
    peak_mb: Optional[float] = None
    extra: Dict[str, Any] = field(default_factory=dict)


def _load(path: str) -> Callable:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def _timed(fn: Callable, sync: Callable) -> tuple:
    start = time.perf_counter()
    out = fn()
    sync()
    return out, time.perf_counter() - start


def _reset_peak(cuda: bool) -> None:
    """Restart the peak-memory count (``VmHWM`` on CPU, max allocated on CUDA)."""
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    else:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")


def _child(case: Case, warmup: int, repeats: int, memory_budget_mb: float, conn) -> None:
    try:
        if case.threads:
            torch.set_num_threads(case.threads)
        cuda = case.device.startswith("cuda")
        sync = torch.cuda.synchronize if cuda else (lambda: None)
        if cuda:  # the parent watches host memory only; cap the device's here
            total = torch.cuda.get_device_properties(case.device).total_memory
            torch.cuda.set_per_process_memory_fraction(
                min(1.0, memory_budget_mb * 2**20 / total), case.device)
        forward, backward, *report = _load(case.factory)(device=case.device, **case.kwargs)
        fwd_times, bwd_times = [], []
        base_kb = _proc_kb(os.getpid(), "VmRSS")
        if cuda:
            base_bytes = torch.cuda.memory_allocated()
        for i in range(warmup + repeats):
            if i == warmup:  # the peak of the timed runs, not of set-up or JIT compiling
                _reset_peak(cuda)
            out, t_f = _timed(forward, sync)
            t_b = None
            if backward is not None:
                _, t_b = _timed(lambda: backward(out), sync)
            del out
            if i >= warmup:
                fwd_times.append(t_f)
                if t_b is not None:
                    bwd_times.append(t_b)
        if cuda:
            peak_mb = (torch.cuda.max_memory_allocated() - base_bytes) / 2**20
        else:
            peak_mb = max(0, _proc_kb(os.getpid(), "VmHWM") - base_kb) / 1024
        extra = report[0]() if report else {}
        conn.send(Result("ok", min(fwd_times), min(bwd_times) if bwd_times else None, peak_mb,
                         extra))
    except torch.OutOfMemoryError:
        conn.send(Result("memory"))
    except Exception as exc:  # reported in the table, not raised
        conn.send(Result(f"error: {type(exc).__name__}: {exc}"[:200]))


def run_case(case: Case, warmup: int = 1, repeats: int = 3, time_budget_s: float = 300.0,
             memory_budget_mb: float = 8192.0) -> Result:
    """Measure ``case`` in a fresh process; best-of-``repeats`` times after ``warmup``.

    The process is killed when it runs longer than ``time_budget_s`` (status
    ``timeout``) or its resident memory exceeds ``memory_budget_mb`` (``memory``; on
    CUDA the device memory is capped at ``memory_budget_mb`` too).
    """
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(case, warmup, repeats, memory_budget_mb, child),
                       daemon=True)
    proc.start()
    deadline = time.monotonic() + time_budget_s
    status = None
    while proc.is_alive() and not parent.poll(0.05):
        try:
            rss_mb = _proc_kb(proc.pid, "VmRSS") / 1024
        except OSError:
            break
        if rss_mb > memory_budget_mb:
            status = "memory"
        elif time.monotonic() > deadline:
            status = "timeout"
        if status:
            proc.kill()
            proc.join()
            return Result(status)
    result = parent.recv() if parent.poll(1.0) else Result(
        f"error: process died (exit code {proc.exitcode}; killed for memory?)")
    proc.join()
    return result


def format_table(header: List[str], rows: List[List[Any]]) -> str:
    """A Markdown table (also readable in a terminal)."""
    def cell(v):
        return f"{v:.3f}" if isinstance(v, float) else ("-" if v is None else str(v))

    text = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in text)) for i, h in enumerate(header)]
    line = lambda vals: "| " + " | ".join(v.ljust(w) for v, w in zip(vals, widths)) + " |"  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in text])


STOP_REASONS = {"timeout": "time budget", "memory": "memory budget"}


def sweep_durations(
    models: Dict[str, Tuple[str, Dict[str, Any]]],
    durations: Sequence[float],
    modes: Sequence[str],
    device: str = "cpu",
    threads: int = 0,
    warmup: int = 1,
    repeats: int = 3,
    time_budget_s: float = 300.0,
    memory_budget_mb: float = 8192.0,
) -> List[dict]:
    """Measure every model in every mode at each duration, interleaved per duration.

    Args:
        models: Display name -> (factory ``"module:function"``, keyword arguments); the
            factory is also given ``device``, ``seconds`` and ``mode``.
        durations: Audio durations in seconds, shortest first.
        modes: ``"infer"`` (forward only; its time is the forward) and/or ``"train"``
            (its time is forward + backward).
        device: Torch device of the measurements.
        threads: Torch threads per measurement (0: torch's default).
        warmup: Untimed runs before the timed ones.
        repeats: Timed runs (the best counts).
        time_budget_s: Seconds per point before it is stopped.
        memory_budget_mb: Resident (and, on CUDA, device) MB per point before it is
            stopped.

    Returns:
        One row per (duration, model, mode): ``model, mode, seconds, time_s, peak_mb,
        status``.  A point that fails (budget or error) stops its model in that mode:
        its longer durations are not run and say ``stopped: <reason> at <duration> s``.
    """
    rows, stopped = [], {}
    for seconds in durations:
        for name, (factory, kwargs) in models.items():
            for mode in modes:
                row = dict(model=name, mode=mode, seconds=seconds, time_s=None,
                           peak_mb=None, status="ok")
                if (name, mode) in stopped:
                    row["status"] = f"stopped: {stopped[name, mode]}"
                else:
                    case = Case(factory, dict(kwargs, seconds=seconds, mode=mode), device,
                                threads)
                    result = run_case(case, warmup, repeats, time_budget_s, memory_budget_mb)
                    if result.status == "ok":
                        row["time_s"] = result.forward_s + (result.backward_s or 0.0)
                        row["peak_mb"] = result.peak_mb
                        row.update(result.extra)
                    else:
                        reason = STOP_REASONS.get(result.status, result.status)
                        row["status"] = reason
                        stopped[name, mode] = f"{reason.split(':')[0]} at {seconds:g} s"
                print(f"  {seconds:8g} s  {name:24s} {mode:5s} {row['status']}",
                      file=sys.stderr, flush=True)
                rows.append(row)
    return rows


def fit_exponent(xs: Sequence[float], ys: Sequence[Optional[float]]) -> Optional[float]:
    """Least-squares slope of log y against log x over the points with a positive y
    (the growth exponent: 1 linear, 2 quadratic); ``None`` with fewer than two."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys) if y is not None and y > 0]
    if len({p[0] for p in pts}) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    return (sum((p[0] - mx) * (p[1] - my) for p in pts)
            / sum((p[0] - mx) ** 2 for p in pts))


def crossover(xs: Sequence[float], a: Sequence[Optional[float]],
              b: Sequence[Optional[float]]) -> Optional[float]:
    """First x where ``a`` drops below ``b``, interpolated in log-log between the
    points around the change; ``None`` if ``a`` never does.

    ``a`` smaller already at its first point gives that point, and so does a point
    where ``b`` is missing (stopped) but ``a`` is not.  ``a`` missing resets the search;
    points with a value of 0 or less are skipped.
    """
    prev = None  # (x, log a - log b) at the previous point where both ran
    for x, va, vb in zip(xs, a, b):
        if va is None:
            prev = None
            continue
        if vb is None:
            return x
        if va <= 0 or vb <= 0:  # nothing measurable (e.g. no memory above set-up)
            continue
        gap = math.log(va) - math.log(vb)
        if gap < 0:
            if prev is None:
                return x
            (x0, g0) = prev
            t = g0 / (g0 - gap)
            return math.exp(math.log(x0) + t * (math.log(x) - math.log(x0)))
        prev = (x, gap)
    return None
