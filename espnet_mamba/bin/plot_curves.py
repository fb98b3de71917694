"""Validation curves of several ESPnet trainings in one PNG, and their table.

    python -m espnet_mamba.bin.plot_curves --key si_snr_loss --scale -1 --maximize \\
        --ylabel "valid SI-SNR (dB)" --out images/valid_curves.png \\
        Mamba-TasNet=exp/enh_train_enh_mamba_tasnet_raw \\
        Conv-TasNet=exp/enh_train_enh_conv_tasnet_raw

Each ``LABEL=EXP_DIR`` is read from ``EXP_DIR/checkpoint.pth`` (ESPnet's per-epoch
statistics: ``espnet_mamba.eval.curves``); the PNG has the validation ``--key`` against
updates and against wall clock; the markdown table (epochs, updates, hours, last and best
value) is printed.
"""
import argparse
import sys
from pathlib import Path
from typing import List, Optional

from espnet_mamba.eval.curves import plot, read_history, table


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", metavar="LABEL=EXP_DIR",
                        help="a legend label and the experiment dir of one training")
    parser.add_argument("--key", required=True, help="validation statistic, e.g. si_snr_loss")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply the statistic (-1 turns si_snr_loss into SI-SNR)")
    parser.add_argument("--maximize", action="store_true",
                        help="larger scaled values are better (the table's best)")
    parser.add_argument("--ylabel", default="",
                        help="y axis label and table heading (default: the key)")
    parser.add_argument("--title", default="", help="figure title")
    parser.add_argument("--out", type=Path, required=True, help="PNG to write")
    args = parser.parse_args(argv)
    histories = {}
    for run in args.runs:
        label, sep, exp_dir = run.partition("=")
        if not sep or not label or not exp_dir:
            parser.error(f"'{run}': give LABEL=EXP_DIR")
        try:
            histories[label] = read_history(Path(exp_dir))
        except (FileNotFoundError, ValueError) as exc:
            sys.exit(f"plot_curves: {exc}")
        if not any(args.key in e.valid for e in histories[label]):
            keys = sorted({k for e in histories[label] for k in e.valid})
            sys.exit(f"plot_curves: {exp_dir} has no validation '{args.key}' (it has: "
                     f"{', '.join(keys) or 'no finished epoch'})")
    heading = args.ylabel or args.key
    plot(histories, args.key, args.out, heading, args.scale, args.title)
    print("\n".join(table(histories, args.key, args.scale, args.maximize, heading)))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
