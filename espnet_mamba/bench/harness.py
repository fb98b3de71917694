"""Isolated measurements: each case runs in a fresh ``spawn`` process, so its peak
memory is its own (the peak during the timed runs above the level after set-up:
``VmHWM`` over ``VmRSS`` on CPU, max allocated on CUDA), and a case that exceeds its
time or memory budget is stopped cleanly.
"""
import importlib
import multiprocessing as mp
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional

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
