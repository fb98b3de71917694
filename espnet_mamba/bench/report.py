"""What the benchmarks print and write: Markdown tables, the machine line, JSON, the
growth exponents and crossovers of a duration sweep, and its plots."""
import json
import math
import platform
from typing import Any, List, Optional, Sequence

import torch

METRICS = [("time_s", "time (s)"), ("peak_mb", "peak memory (MB)")]
METRIC_WORDS = {"time_s": "time", "peak_mb": "peak memory"}
MODE_WORDS = {"infer": "inference", "train": "training step"}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    return (f"{cpu}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
            f"python {platform.python_version()}")


def format_table(header: List[str], rows: List[List[Any]]) -> str:
    """A Markdown table (also readable in a terminal)."""
    def cell(v):
        return f"{v:.3f}" if isinstance(v, float) else ("-" if v is None else str(v))

    text = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in text)) for i, h in enumerate(header)]
    line = lambda vals: "| " + " | ".join(v.ljust(w) for v, w in zip(vals, widths)) + " |"  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in text])


def write_json(path: Optional[str], what: str, args: Any, rows: List[dict], **more) -> None:
    """``{"what", "machine", "args", "rows", ...}`` to ``path`` (nothing without one)."""
    if path:
        with open(path, "w") as f:
            json.dump({"what": what, "machine": machine(), "args": vars(args), "rows": rows,
                       **more}, f, indent=1)


def print_length_table(rows: List[dict], reference: str) -> None:
    """The ``scan``/``block`` table: times per case and length, and the speed-up over
    ``reference`` at the same length."""
    header = ["case", "L", "forward s", "backward s", "fwd+bwd s", "peak MB",
              f"x vs {reference}", "status"]
    ref = {r["length"]: r["time_s"] for r in rows if r["case"] == reference}
    table = []
    for r in rows:
        ratio = (ref[r["length"]] / r["time_s"]
                 if r["time_s"] and ref.get(r["length"]) else None)
        table.append([r["case"], r["length"], r["forward_s"], r["backward_s"], r["time_s"],
                      r["peak_mb"], ratio, r["status"]])
    print(format_table(header, table))


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


def series(rows: List[dict], model: str, mode: str, key: str, durations: List[float]
           ) -> List[Optional[float]]:
    """``key`` of ``model`` in ``mode`` at each duration (``None`` where it did not run)."""
    found = {r["seconds"]: r[key] for r in rows if r["case"] == model and r["mode"] == mode}
    return [found.get(d) for d in durations]


def analyse(rows: List[dict], names: List[str], modes: List[str], durations: List[float],
            pair: Optional[tuple]) -> dict:
    """Growth exponents of every model, mode and metric; crossovers of ``pair``."""
    exponents = {name: {mode: {key: fit_exponent(durations, series(rows, name, mode, key,
                                                                   durations))
                               for key, _ in METRICS} for mode in modes} for name in names}
    crossovers = {}
    if pair:
        for mode in modes:
            for key, _ in METRICS:
                a, b = (series(rows, n, mode, key, durations) for n in pair)
                crossovers[f"{mode} {key}"] = crossover(durations, a, b)
    return {"exponents": exponents, "crossovers": crossovers}


def print_sweep(rows: List[dict], names: List[str], modes: List[str], durations: List[float],
                analysis: dict, pair: Optional[tuple]) -> None:
    """The points table, the exponents table and the crossover lines (Markdown)."""
    header = ["model", "params M", "audio s"]
    for mode in modes:
        header += [f"{mode} s", f"{mode} RTF", f"{mode} peak MB"]
    header.append("status")
    table = []
    for d in durations:
        for name in names:
            points = {r["mode"]: r for r in rows if r["case"] == name and r["seconds"] == d}
            params = next((r["params_m"] for r in points.values() if "params_m" in r), None)
            line, notes = [name, params, d], []
            for mode in modes:
                r = points[mode]
                line += [r["time_s"], r["time_s"] / d if r["time_s"] else None, r["peak_mb"]]
                if r["status"] != "ok":
                    notes.append(f"{mode}: {r['status']}")
            table.append(line + ["; ".join(notes) or "ok"])
    print(format_table(header, table))
    print("\nGrowth exponents (slope of log value vs log duration over the points that ran; "
          "1 = linear, 2 = quadratic):\n")
    header = ["model"] + [f"{mode} {label.split()[0]}" for mode in modes for _, label in METRICS]
    table = [[name] + [analysis["exponents"][name][mode][key] for mode in modes
                       for key, _ in METRICS] for name in names]
    print(format_table(header, table))
    if pair:
        print()
        for what, x in analysis["crossovers"].items():
            mode, key = what.split()
            verdict = ("not within the measured durations" if x is None
                       else f"from about {x:.3g} s of audio")
            print(f"- {pair[0]} needs less {MODE_WORDS[mode]} {METRIC_WORDS[key]} than "
                  f"{pair[1]}: {verdict}")


def plot_sweep(rows: List[dict], names: List[str], modes: List[str], durations: List[float],
               analysis: dict, pair: Optional[tuple], title: str, path: str) -> None:
    """Time and memory vs duration, log-log, one line per model, crossovers marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(METRICS), len(modes), figsize=(6.5 * len(modes), 8),
                             squeeze=False)
    for col, mode in enumerate(modes):
        for row, (key, label) in enumerate(METRICS):
            ax = axes[row][col]
            for name in names:
                ys = series(rows, name, mode, key, durations)
                pts = [(d, y) for d, y in zip(durations, ys) if y is not None and y > 0]
                stop = next((r["status"] for r in rows if r["case"] == name
                             and r["mode"] == mode and r["status"].startswith("stopped")), "")
                if pts:
                    ax.plot(*zip(*pts), marker="o",
                            label=name + (f" ({stop})" if stop else ""))
            x = analysis["crossovers"].get(f"{mode} {key}") if pair else None
            if x is not None:
                ax.axvline(x, color="gray", linestyle="--")
                ax.annotate(f"crossover {x:.3g} s", (x, 0.95), xycoords=("data", "axes fraction"),
                            rotation=90, ha="right", va="top", fontsize=8)
            ax.set(xscale="log", yscale="log", xlabel="audio duration (s)",
                   ylabel=label, title=f"{MODE_WORDS[mode]}: {label}")
            ax.set_xticks(durations, [f"{d:g}" for d in durations])
            ax.minorticks_off()
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
