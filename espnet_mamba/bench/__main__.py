"""``python -m espnet_mamba.bench``: speed and memory tables.

    python -m espnet_mamba.bench scan  [--lengths 500 2000 8000 16000] [--json out.json]
    python -m espnet_mamba.bench block [--lengths ...]
    python -m espnet_mamba.bench encoders   [--durations 5 15 ... 600] [--plot out.png]
    python -m espnet_mamba.bench separators [--durations ...] [--plot out.png]
    python -m espnet_mamba.bench longform   [--minutes 1 5 10]
    python -m espnet_mamba.bench decoders   [--prefixes 1 50 200]
    python -m espnet_mamba.bench train      [--settings "asr 8x5s" ...] [--profile 8]
    python -m espnet_mamba.bench deploy     [--chunk-ms 160] [--seconds 10 60]

Every point runs in its own process with a time and a memory budget
(:mod:`espnet_mamba.bench.harness`), through one sweep (:mod:`.sweep`); the cases are in
:mod:`espnet_mamba.bench.cases`, the model sizes are the package's reference configs
(:mod:`.configs`), tables and plots come from :mod:`.report`.  ``--device cuda``
measures on a GPU.
"""
import argparse
from typing import Dict, Tuple

from espnet_mamba.bench import report
from espnet_mamba.bench.cases import (
    decoders,
    deploy,
    encoders,
    longform,
    separators,
    training,
)
from espnet_mamba.bench.sweep import sweep

KERNELS = "espnet_mamba.bench.cases.kernels"
LAYERS = "espnet_mamba.bench.cases.layers"
# scan/block: case name -> (factory, keyword arguments over the command line's); every
# factory takes device, batch, dim, state and length
LENGTH_SUITES: Dict[str, Dict[str, Tuple[str, dict]]] = {
    "scan": {
        "espnet_mamba": (f"{KERNELS}:scan_project", {}),
        "sequential (indexing)": (f"{KERNELS}:scan_sequential", {}),
        "sequential (unbind)": (f"{KERNELS}:scan_sequential", {"unbind": True}),
        "mambapy.pscan": (f"{KERNELS}:scan_pscan", {}),
        "SSD (Mamba-2, N 64)": (f"{KERNELS}:ssd_project", {"state": 64}),
        "MultiheadAttention": (f"{LAYERS}:attention", {}),
    },
    "block": {
        "Mamba block": (f"{LAYERS}:mamba_block", {}),
        "BiMamba (inner) block": (f"{LAYERS}:mamba_block", {"bidirectional": True}),
        "Mamba-2 block (N 64)": (f"{LAYERS}:mamba2_block", {"state": 64}),
        "MultiheadAttention": (f"{LAYERS}:attention", {}),
        "TransformerEncoderLayer": (f"{LAYERS}:transformer_layer", {}),
    },
}
REFERENCE = "MultiheadAttention"  # the "x vs" column of scan/block
# Duration sweeps: the case family, its factory, the sizes ("full" and "quick") and the
# pair whose crossover is reported (first: the model expected to win at long durations).
MODEL_SUITES = {
    "encoders": dict(family=encoders, factory="espnet_mamba.bench.cases.encoders:encoder",
                     sizes={"full": "S", "quick": "quick"}, pair=("conmamba", "conformer")),
    "separators": dict(family=separators,
                       factory="espnet_mamba.bench.cases.separators:separator",
                       sizes={"full": "full", "quick": "quick"},
                       pair=("mamba_tasnet_s", "conv_tasnet")),
}
DURATIONS = [5, 15, 30, 60, 120, 300, 600]
QUICK_DURATIONS = [1, 2]


def run_lengths(args) -> None:
    """``scan`` / ``block``: forward and backward of each case at each length."""
    cases = {name: (factory, dict(dict(batch=args.batch, dim=args.dim, state=args.state), **extra))
             for name, (factory, extra) in LENGTH_SUITES[args.what].items()
             if name not in args.skip}
    print(f"# {args.what}: batch {args.batch}, dim {args.dim}, state {args.state}, "
          f"{args.device}; {report.machine()}")
    rows = sweep(cases, "length", args.lengths, device=args.device, warmup=args.warmup,
                 repeats=args.repeats, time_budget_s=args.time_budget,
                 memory_budget_mb=args.memory_budget)
    report.print_length_table(rows, REFERENCE)
    report.write_json(args.json, args.what, args, rows)


def run_models(args) -> None:
    """``encoders`` / ``separators``: whole models over audio durations."""
    suite = MODEL_SUITES[args.what]
    labels = suite["family"].LABELS
    size = suite["sizes"]["quick" if args.quick else "full"]
    kinds = args.models or list(labels)
    unknown = sorted(set(kinds) - set(labels))
    if unknown:
        raise SystemExit(f"unknown --models {unknown}; choose from {list(labels)}")
    label = lambda k: labels[k] + (f" {size}" if size != "full" else "")  # noqa: E731
    cases = {label(k): (suite["factory"], {"kind": k, "size": size}) for k in kinds}
    durations = args.durations or (QUICK_DURATIONS if args.quick else DURATIONS)
    pair = (tuple(label(k) for k in suite["pair"])
            if set(suite["pair"]) <= set(kinds) else None)
    title = f"{args.what} ({size} sizes), {args.device}, batch 1"
    print(f"# {title}; {report.machine()}")
    rows = sweep(cases, "seconds", durations, args.modes, args.device, args.threads,
                 args.warmup, args.repeats, args.time_budget, args.memory_budget, unit="s")
    names = list(cases)
    analysis = report.analyse(rows, names, args.modes, durations, pair)
    report.print_sweep(rows, names, args.modes, durations, analysis, pair)
    if args.plot:
        report.plot_sweep(rows, names, args.modes, durations, analysis, pair, title, args.plot)
    report.write_json(args.json, args.what, args, rows, **analysis)


def run_training(args) -> None:
    """``train``: training steps of Mamba models and their baselines, in turns."""
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    print(f"# train: median of {args.repeats} steps each, in turns after {args.warmup} "
          f"warm-up; {report.machine()}")
    rows = [training.measure(setting, args.repeats, args.warmup, args.profile)
            for setting in args.settings]
    print(report.format_table(
        ["setting", "Mamba model", "s / step", "baseline", "s / step", "ratio", "goal"],
        [[r["setting"], r["mamba"], r["mamba_s"], r["baseline"], r["baseline_s"], r["ratio"],
          f"<= {training.GOALS.get(r['setting'], 1.0):g}"] for r in rows]))
    for r in rows:
        for model, ops in r.get("profile", {}).items():
            print(f"\n{r['setting']}, {model}: top ops by self CPU time (one step)")
            print(report.format_table(["op", "self ms", "%"], [list(op) for op in ops]))
    report.write_json(args.json, "train", args, rows)


def run_decoders(args) -> None:
    """``decoders``: beam-search step time against the prefix length."""
    print(f"# decoders: beam {args.beam}, {args.frames} encoder frames, size {args.size}, "
          f"{args.layers} layers; {report.machine()}")
    rows = decoders.run(args.prefixes, args.beam, args.frames, args.size, args.layers)
    print(report.format_table(["decoder", "prefix length", "ms per step"],
                              [[r["decoder"], r["prefix"], r["step_ms"]] for r in rows]))
    report.write_json(args.json, "decoders", args, rows)


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
    for name in LENGTH_SUITES:
        p = sub.add_parser(name, parents=[common], help=f"{name} benchmark over lengths")
        p.add_argument("--lengths", type=int, nargs="+", default=[500, 2000, 8000, 16000])
        p.add_argument("--batch", type=int, default=4)
        p.add_argument("--dim", type=int, default=256)
        p.add_argument("--state", type=int, default=16)
        p.add_argument("--skip", nargs="*", default=[], help="case names to leave out")
    for name, suite in MODEL_SUITES.items():
        p = sub.add_parser(name, parents=[common],
                           help=f"whole {name} over audio durations (infer and train)")
        p.add_argument("--durations", type=float, nargs="+",
                       help=f"seconds of audio (default {DURATIONS}; --quick {QUICK_DURATIONS})")
        p.add_argument("--models", nargs="+", metavar="KIND",
                       help=f"subset of {list(suite['family'].LABELS)}")
        p.add_argument("--modes", nargs="+", choices=["infer", "train"],
                       default=["infer", "train"])
        p.add_argument("--quick", action="store_true", help="tiny models (tests, smoke runs)")
        p.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
        p.add_argument("--plot", help="write time/memory vs duration plots here (.png)")
        p.set_defaults(memory_budget=16000.0)
    p = sub.add_parser("train", help="training step of Mamba models vs their baselines "
                       "(one process, in turns, profiles)")
    p.add_argument("--settings", nargs="+", choices=list(training.SETTINGS),
                   default=list(training.SETTINGS))
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--profile", type=int, default=8, help="top ops per model (0: none)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    p.add_argument("--json", help="also write the rows here")
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
    p = sub.add_parser("deploy", help="ONNX Runtime vs PyTorch: streaming chunks, offline "
                       "encoder (one process, in turns)")
    deploy.add_arguments(p)
    return parser


def run_deploy(args) -> None:
    """``deploy``: exported models in ONNX Runtime against PyTorch."""
    rows = deploy.run(args, report.machine())
    report.write_json(args.json, "deploy", args, rows)


COMMANDS = {"scan": run_lengths, "block": run_lengths, "encoders": run_models,
            "separators": run_models, "decoders": run_decoders, "train": run_training,
            "longform": lambda args: longform.run(args, report.machine()),
            "deploy": run_deploy}


def main(argv=None) -> None:
    args = get_parser().parse_args(argv)
    COMMANDS[args.what](args)


if __name__ == "__main__":
    main()
