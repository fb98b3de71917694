"""Mel-cepstral distortion of synthesized speech against reference recordings.

    python -m espnet_mamba.bin.score_tts --ref_scp dump/raw/test/wav.scp \\
        --syn_scp exp/tts/decode/test/wav.scp --output_dir exp/tts/decode/test/score_mcd

Both inputs are ``wav.scp`` files of mono audio at one sampling rate; every reference
utterance needs a synthesized one.  MCD as :mod:`espnet_mamba.eval.tts` (order and
all-pass constant by sampling rate unless given).  Writes ``<output_dir>/utt2mcd`` (dB
per utterance) and ``summary.json`` (mean, standard deviation, analysis settings).
"""
import argparse
import json
import os
from typing import List, Optional

from espnet_mamba.bin import reported
from espnet_mamba.data import DataError, read_table, write_table
from espnet_mamba.eval.tts import score_mcd


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ref_scp", required=True, help="wav.scp of the reference audio")
    parser.add_argument("--syn_scp", required=True, help="wav.scp of the synthesized audio")
    parser.add_argument("--output_dir", required=True, help="gets utt2mcd and summary.json")
    parser.add_argument("--order", type=int, default=None,
                        help="mel-cepstrum order (default by sampling rate)")
    parser.add_argument("--alpha", type=float, default=None,
                        help="all-pass constant (default by sampling rate)")
    parser.add_argument("--frame_period", type=float, default=5.0,
                        help="analysis frame shift in milliseconds")
    args = parser.parse_args(argv)
    with reported("score_tts"):
        refs, syns = read_table(args.ref_scp), read_table(args.syn_scp)
        if not refs:
            raise DataError(f"no utterance in {args.ref_scp}")
        try:
            scores, summary = score_mcd(refs, syns, args.order, args.alpha, args.frame_period)
        except ValueError as exc:  # analysis settings
            raise DataError(str(exc)) from None
    os.makedirs(args.output_dir, exist_ok=True)
    write_table(os.path.join(args.output_dir, "utt2mcd"),
                {utt: f"{value:.4f}" for utt, value in scores.items()})
    with open(os.path.join(args.output_dir, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
    print(f"MCD {summary['mcd_mean']:.2f} +- {summary['mcd_std']:.2f} dB on "
          f"{summary['utts']} utterances")


if __name__ == "__main__":
    main()
