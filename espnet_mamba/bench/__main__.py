"""``python -m espnet_mamba.bench``: speed and memory tables.

    python -m espnet_mamba.bench scan  [--lengths 500 2000 8000 16000] [--json out.json]
    python -m espnet_mamba.bench block [--lengths ...]
"""
import argparse
import json
import platform
import sys
from typing import Dict, List

import torch

from espnet_mamba.bench.measure import Case, Result, format_table, run_case

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


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m espnet_mamba.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["scan", "block"])
    parser.add_argument("--lengths", type=int, nargs="+", default=[500, 2000, 8000, 16000])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--state", type=int, default=16)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--time-budget", type=float, default=300.0,
                        help="seconds per case and length before it is stopped")
    parser.add_argument("--memory-budget", type=float, default=12000.0,
                        help="MB of resident memory per case before it is stopped")
    parser.add_argument("--skip", nargs="*", default=[], help="case names to leave out")
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    main()
