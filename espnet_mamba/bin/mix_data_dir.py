"""Two-speaker mixtures of a single-speaker data dir's utterances, as a data dir.

    python -m espnet_mamba.bin.mix_data_dir ../../wordnet_en/asr1/data/train data/train \\
        --wavdir downloads/wav --fs 8000 --max_snr 5 --seed 0

Pairs each utterance with one of another speaker (every utterance used once; ``--num``
caps the count), resampled to ``--fs`` and mixed as ``make_espeak_mixtures`` mixes
(:mod:`espnet_mamba.corpora.dir_mixtures`).  Writes ``wav.scp``, ``spk1.scp``,
``spk2.scp``, ``utt2spk``, ``spk2utt``, ``text_spk1``, ``text_spk2`` and ``synthesis``
(the source's, then how it was mixed).
"""
import argparse
import random
import re
import sys
from pathlib import Path
from typing import List, Optional

from espnet_mamba.bin import reported
from espnet_mamba.corpora.dir_mixtures import pair, write_set
from espnet_mamba.corpora.mixtures import MODES
from espnet_mamba.data import read_table


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("src_dir", type=Path, help="data dir with wav.scp, text, utt2spk")
    parser.add_argument("out_dir", type=Path, help="the mixtures' data dir (replaced)")
    parser.add_argument("--wavdir", type=Path, required=True,
                        help="audio goes to <wavdir>/<out_dir name>/{mix,s1,s2}/")
    parser.add_argument("--fs", type=int, default=8000, help="sampling rate (Hz)")
    parser.add_argument("--mode", choices=MODES, default="min",
                        help="min: cut to the shorter source; max: pad it with silence")
    parser.add_argument("--max_snr", type=float, default=5.0,
                        help="largest level difference between the two sources (dB)")
    parser.add_argument("--num", type=int, default=None, help="at most this many mixtures")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.max_snr < 0:
        sys.exit(f"mix_data_dir: --max_snr must be >= 0, got {args.max_snr}")
    if args.num is not None and args.num < 1:
        sys.exit(f"mix_data_dir: --num must be >= 1, got {args.num}")
    with reported("mix_data_dir"):
        utt2spk = read_table(str(args.src_dir / "utt2spk"), "source utt2spk")
        prefix = re.sub(r"[^A-Za-z0-9]", "", args.out_dir.name)
        pairings = pair(utt2spk, random.Random(args.seed), prefix, args.max_snr, args.num)
        source = args.src_dir / "synthesis"
        note = (source.read_text() if source.is_file() else "") + (
            f"mixtures of {args.src_dir.resolve()}: seed {args.seed}, fs {args.fs}, "
            f"max_snr {args.max_snr}, mode {args.mode}\n")
        hours = write_set(args.src_dir, args.out_dir.name, pairings, args.out_dir.parent,
                          args.wavdir, args.fs, args.mode, note)
        print(f"{args.out_dir}: {len(pairings)} mixtures, {hours:.2f} h", flush=True)


if __name__ == "__main__":
    main()
