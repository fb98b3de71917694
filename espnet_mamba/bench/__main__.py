"""``python -m espnet_mamba.bench``: speed and memory tables.

    python -m espnet_mamba.bench scan  [--lengths 500 2000 8000 16000] [--json out.json]
    python -m espnet_mamba.bench block [--lengths ...]
    python -m espnet_mamba.bench encoders   [--durations 5 15 ... 600] [--plot out.png]
    python -m espnet_mamba.bench separators [--durations ...] [--plot out.png]
    python -m espnet_mamba.bench longform   [--minutes 1 5 10]
    python -m espnet_mamba.bench decoders   [--prefixes 1 50 200]

Every point runs in its own process with a time and a memory budget (see
``espnet_mamba.bench.measure``); ``--device cuda`` measures on a GPU.
"""
import argparse
import json
import platform
import sys
from typing import Dict, List, Optional

import torch

from espnet_mamba.bench import decoders, encoders, longform
from espnet_mamba.bench.measure import (
    Case,
    Result,
    crossover,
    fit_exponent,
    format_table,
    run_case,
    sweep_durations,
)

SCAN_CASES = {
    "espnet_mamba": "espnet_mamba.bench.scan:scan_project",
    "sequential (indexing)": "espnet_mamba.bench.scan:scan_sequential",
    "sequential (unbind)": "espnet_mamba.bench.scan:scan_sequential",
    "mambapy.pscan": "espnet_mamba.bench.scan:scan_pscan",
    "MultiheadAttention": "espnet_mamba.bench.scan:attention",
}
BLOCK_CASES = {
    "Mamba block": "espnet_mamba.bench.scan:mamba_block",
    "BiMamba (inner) block": "espnet_mamba.bench.scan:mamba_block",
    "MultiheadAttention": "espnet_mamba.bench.scan:attention",
    "TransformerEncoderLayer": "espnet_mamba.bench.scan:transformer_layer",
}
# Duration sweeps: factory, sizes ("full" and "quick"), labels, and the pair whose
# crossover is reported (first: the model expected to win at long durations).
SUITES = {
    "encoders": dict(factory="espnet_mamba.bench.encoders:encoder",
                     sizes={"full": "S", "quick": "quick"}, models=encoders.ENCODERS["S"],
                     labels=encoders.ENCODER_LABELS, pair=("conmamba", "conformer")),
    "separators": dict(factory="espnet_mamba.bench.encoders:separator",
                       sizes={"full": "full", "quick": "quick"},
                       models=encoders.SEPARATORS["full"], labels=encoders.SEPARATOR_LABELS,
                       pair=("mamba_tasnet_s", "conv_tasnet")),
}
DURATIONS = [5, 15, 30, 60, 120, 300, 600]
QUICK_DURATIONS = [1, 2]
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


def sweep(cases: Dict[str, str], args, extra: Dict[str, dict]) -> List[dict]:
    """Interleave cases at each length; skip a case's longer lengths after it fails."""
    rows, stopped = [], {}
    for length in args.lengths:
        for name, factory in cases.items():
            if name in stopped:
                result = Result(f"skipped ({stopped[name]} at a shorter length)")
            else:
                kwargs = dict(batch=args.batch, dim=args.dim, length=length, **extra.get(name, {}))
                if "scan" in factory:
                    kwargs["state"] = args.state
                result = run_case(Case(factory, kwargs, args.device), args.warmup, args.repeats,
                                  args.time_budget, args.memory_budget)
                if result.status != "ok":
                    stopped[name] = result.status.split(":")[0]
            total = (None if result.forward_s is None or result.backward_s is None
                     else result.forward_s + result.backward_s)
            rows.append(dict(case=name, length=length, forward_s=result.forward_s,
                             backward_s=result.backward_s, total_s=total,
                             peak_mb=result.peak_mb, status=result.status))
            print(f"  {name:24s} L={length:6d} {result.status}", file=sys.stderr, flush=True)
    return rows


def print_table(rows: List[dict], reference: str) -> None:
    header = ["case", "L", "forward s", "backward s", "fwd+bwd s", "peak MB", f"x vs {reference}",
              "status"]
    ref = {r["length"]: r["total_s"] for r in rows if r["case"] == reference}
    table = []
    for r in rows:
        ratio = (ref[r["length"]] / r["total_s"]
                 if r["total_s"] and ref.get(r["length"]) else None)
        table.append([r["case"], r["length"], r["forward_s"], r["backward_s"], r["total_s"],
                      r["peak_mb"], ratio, r["status"]])
    print(format_table(header, table))


def run_scan_or_block(args) -> None:
    if args.what == "scan":
        cases, reference = SCAN_CASES, "MultiheadAttention"
        extra = {"sequential (unbind)": {"unbind": True}}
    else:
        cases, reference = BLOCK_CASES, "MultiheadAttention"
        extra = {"BiMamba (inner) block": {"bidirectional": True}}
    cases = {k: v for k, v in cases.items() if k not in args.skip}
    print(f"# {args.what}: batch {args.batch}, dim {args.dim}, state {args.state}, "
          f"{args.device}; {machine()}")
    rows = sweep(cases, args, extra)
    print_table(rows, reference)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"what": args.what, "machine": machine(), "args": vars(args),
                       "rows": rows}, f, indent=1)


def series(rows: List[dict], model: str, mode: str, key: str, durations: List[float]
           ) -> List[Optional[float]]:
    """``key`` of ``model`` in ``mode`` at each duration (``None`` where it did not run)."""
    found = {r["seconds"]: r[key] for r in rows if r["model"] == model and r["mode"] == mode}
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
            points = {r["mode"]: r for r in rows if r["model"] == name and r["seconds"] == d}
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
                stop = next((r["status"] for r in rows if r["model"] == name
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


def run_suite(args) -> None:
    suite = SUITES[args.what]
    size = suite["sizes"]["quick" if args.quick else "full"]
    kinds = args.models or list(suite["models"])
    unknown = sorted(set(kinds) - set(suite["models"]))
    if unknown:
        raise SystemExit(f"unknown --models {unknown}; choose from {list(suite['models'])}")
    label = lambda k: suite["labels"][k] + (f" {size}" if size != "full" else "")  # noqa: E731
    models = {label(k): (suite["factory"], {"kind": k, "size": size}) for k in kinds}
    durations = args.durations or (QUICK_DURATIONS if args.quick else DURATIONS)
    pair = (tuple(label(k) for k in suite["pair"])
            if set(suite["pair"]) <= set(kinds) else None)
    title = f"{args.what} ({size} sizes), {args.device}, batch 1"
    print(f"# {title}; {machine()}")
    rows = sweep_durations(models, durations, args.modes, args.device, args.threads,
                           args.warmup, args.repeats, args.time_budget, args.memory_budget)
    names = list(models)
    analysis = analyse(rows, names, args.modes, durations, pair)
    print_sweep(rows, names, args.modes, durations, analysis, pair)
    if args.plot:
        plot_sweep(rows, names, args.modes, durations, analysis, pair, title, args.plot)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"what": args.what, "machine": machine(), "args": vars(args),
                       "rows": rows, **analysis}, f, indent=1)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m espnet_mamba.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--device", default="cpu")
    common.add_argument("--warmup", type=int, default=1)
    common.add_argument("--repeats", type=int, default=3)
    common.add_argument("--time-budget", type=float, default=300.0,
                        help="seconds per point, process start and set-up included, before "
                             "it is stopped (default: %(default)s)")
    common.add_argument("--memory-budget", type=float, default=12000.0,
                        help="MB of resident (and, on CUDA, device) memory per point before "
                             "it is stopped (default: %(default)s)")
    common.add_argument("--json", help="also write the rows here")
    sub = parser.add_subparsers(dest="what", required=True)
    for name in ("scan", "block"):
        p = sub.add_parser(name, parents=[common], help=f"{name} benchmark over lengths")
        p.add_argument("--lengths", type=int, nargs="+", default=[500, 2000, 8000, 16000])
        p.add_argument("--batch", type=int, default=4)
        p.add_argument("--dim", type=int, default=256)
        p.add_argument("--state", type=int, default=16)
        p.add_argument("--skip", nargs="*", default=[], help="case names to leave out")
    for name, suite in SUITES.items():
        p = sub.add_parser(name, parents=[common],
                           help=f"whole {name} over audio durations (infer and train)")
        p.add_argument("--durations", type=float, nargs="+",
                       help=f"seconds of audio (default {DURATIONS}; --quick {QUICK_DURATIONS})")
        p.add_argument("--models", nargs="+", metavar="KIND",
                       help=f"subset of {list(suite['models'])}")
        p.add_argument("--modes", nargs="+", choices=["infer", "train"],
                       default=["infer", "train"])
        p.add_argument("--quick", action="store_true", help="tiny models (tests, smoke runs)")
        p.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
        p.add_argument("--plot", help="write time/memory vs duration plots here (.png)")
        p.set_defaults(memory_budget=16000.0)
    p = sub.add_parser("decoders", help="beam-search step time vs prefix length")
    p.add_argument("--prefixes", type=int, nargs="+", default=[1, 50, 200])
    p.add_argument("--beam", type=int, default=10)
    p.add_argument("--frames", type=int, default=500, help="encoder frames (memory length)")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--json", help="also write the rows here")
    p = sub.add_parser("longform", parents=[common],
                       help="Speech2Text on minutes of audio in one pass (RTF, memory)")
    longform.add_arguments(p)
    return parser


def main(argv=None) -> None:
    args = get_parser().parse_args(argv)
    if args.what in ("scan", "block"):
        run_scan_or_block(args)
    elif args.what in SUITES:
        run_suite(args)
    elif args.what == "decoders":
        print(f"# decoders: beam {args.beam}, {args.frames} encoder frames, size {args.size}, "
              f"{args.layers} layers; {machine()}")
        rows = decoders.run(args.prefixes, args.beam, args.frames, args.size, args.layers)
        print(format_table(["decoder", "prefix length", "ms per step"],
                           [[r["decoder"], r["prefix"], r["step_ms"]] for r in rows]))
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"what": "decoders", "machine": machine(), "rows": rows}, f, indent=1)
    else:
        longform.run(args, machine())


if __name__ == "__main__":
    main()
