"""Generate a 2-speaker mixture corpus (wsj0-2mix style) with espeak-ng, as data dirs.

    python -m espnet_mamba.bin.make_espeak_mixtures --out data --wavdir downloads/wav \\
        --num_train 1000 --num_dev 60 --num_test 200 --seed 0

Mixtures as :mod:`espnet_mamba.corpora.mixtures` makes them (two voices, equal RMS,
0 to ``--max_snr`` dB apart; every test mixture has a held-out voice).  Writes
``<out>/<set>/`` with ``wav.scp`` (mixture), ``spk1.scp``, ``spk2.scp``, ``utt2spk``,
``spk2utt``, ``text_spk1``, ``text_spk2`` and ``synthesis`` (engine, seed, voices);
audio goes to ``<wavdir>/<set>/{mix,s1,s2}/``.
"""
import argparse
import sys
from pathlib import Path
from typing import List, Optional

from espnet_mamba.bin import add_corpus_options, reported
from espnet_mamba.corpora.espeak_corpus import (
    HELD_OUT_VOICES,
    TRAIN_VOICES,
    check_voices,
    synthesis_note,
)
from espnet_mamba.corpora.mixtures import MODES, make_plans, write_set


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="where data/<set> dirs go")
    parser.add_argument("--wavdir", type=Path, required=True, help="where the audio goes")
    parser.add_argument("--num_train", type=int, default=1000, help="training mixtures")
    parser.add_argument("--num_dev", type=int, default=60, help="validation mixtures")
    parser.add_argument("--num_test", type=int, default=200, help="test mixtures")
    parser.add_argument("--fs", type=int, default=8000, help="sampling rate (Hz)")
    parser.add_argument("--mode", choices=MODES, default="min",
                        help="min: cut to the shorter source; max: pad it with silence")
    parser.add_argument("--max_snr", type=float, default=5.0,
                        help="largest level difference between the two sources (dB)")
    add_corpus_options(parser)
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    args = get_parser().parse_args(argv)
    for name in ("num_train", "num_dev", "num_test", "jobs"):
        if getattr(args, name) < 1:
            sys.exit(f"make_espeak_mixtures: --{name} must be >= 1, got {getattr(args, name)}")
    if args.max_snr < 0:
        sys.exit(f"make_espeak_mixtures: --max_snr must be >= 0, got {args.max_snr}")
    with reported("make_espeak_mixtures"):
        check_voices(TRAIN_VOICES + HELD_OUT_VOICES)
        plans = make_plans(args.num_train, args.num_dev, args.num_test, args.seed,
                           args.max_snr, args.test_seed, args.test_name)
        seed = args.seed if args.test_seed is None else args.test_seed
        for name, mixtures in plans.items():
            voices = sorted({s.voice for m in mixtures for s in m.sources})
            hours = write_set(name, mixtures, args.out, args.wavdir, args.fs, args.mode,
                              args.jobs, synthesis_note(seed, voices))
            print(f"{name}: {len(mixtures)} mixtures, {hours:.2f} h, {len(voices)} voices",
                  flush=True)


if __name__ == "__main__":
    main()
