"""Copy a Kaldi-style data dir, rewriting its audio at one sample rate (stage 2).

    python -m espnet_mamba.bin.format_data_dir --fs 16k data/train dump/raw/train_sp \\
        --speed_perturb_factors 0.9 1.0 1.1 --min_duration 0.1 --max_duration 20

What it writes, which utterances it drops and why: :mod:`espnet_mamba.data.format`.
"""
import argparse
import logging
import math
from fractions import Fraction
from typing import List, Optional

from espnet_mamba.bin import reported
from espnet_mamba.data.format import format_data_dir


def parse_fs(value: str) -> int:
    """Sampling rate from ``16000``, ``16k`` or ``22.05k``."""
    try:
        rate = float(value[:-1]) * 1000 if value.lower().endswith("k") else float(value)
    except ValueError:
        rate = -1.0
    if rate <= 0 or rate != int(rate):
        raise argparse.ArgumentTypeError(f"not a sampling rate: {value!r} (e.g. 16k)")
    return int(rate)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("src_dir", help="Kaldi-style data dir (wav.scp, utt2spk, text)")
    parser.add_argument("output_dir", help="dir to write (replaced if it exists)")
    parser.add_argument("--fs", type=parse_fs, default=16000, help="sampling rate, e.g. 16k")
    parser.add_argument("--audio_format", choices=("flac", "wav"), default="flac")
    parser.add_argument("--resample", choices=("true", "false"), default="true",
                        help="resample other rates to --fs (false: such input is an error)")
    parser.add_argument("--speed_perturb_factors", nargs="+", default=["1.0"],
                        metavar="F", help="speed factors, e.g. 0.9 1.0 1.1")
    parser.add_argument("--min_duration", type=float, default=0.0,
                        help="drop utterances shorter than this (seconds)")
    parser.add_argument("--max_duration", type=float, default=math.inf,
                        help="drop utterances longer than this (seconds)")
    parser.add_argument("--drop_empty_text", action="store_true",
                        help="drop utterances whose transcript is empty")
    parser.add_argument("--nj", type=int, default=1, help="number of worker processes")
    parser.add_argument("--extra_scps", nargs="+", default=[], metavar="NAME",
                        help="more audio tables to format alike, e.g. spk1.scp spk2.scp")
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    args = get_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    for speed in args.speed_perturb_factors:
        try:
            if Fraction(speed) <= 0:
                raise ValueError
        except ValueError:
            raise SystemExit(f"format_data_dir: bad speed factor {speed!r}")
    with reported("format_data_dir"):
        n = format_data_dir(args.src_dir, args.output_dir, args.fs, args.audio_format,
                            args.resample == "true", args.speed_perturb_factors,
                            args.min_duration, args.max_duration, args.drop_empty_text,
                            max(1, args.nj), args.extra_scps)
    logging.info("wrote %d utterances to %s", n, args.output_dir)


if __name__ == "__main__":
    main()
