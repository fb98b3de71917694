"""Score ASR hypotheses against references: WER and CER with sclite-style alignments.

    python -m espnet_mamba.bin.score_asr --ref data/test/text \\
        --hyp exp/asr/decode/test/text --output_dir exp/asr/decode/test

Both inputs are Kaldi ``text`` files; writes ``<output_dir>/score_{wer,cer}/`` with
``ref.trn``, ``hyp.trn``, ``result.txt`` and ``summary.json``
(:mod:`espnet_mamba.eval.asr`), and prints the error rates.
"""
import argparse
import os
from typing import List, Optional

from espnet_mamba.bin import reported
from espnet_mamba.data import read_table
from espnet_mamba.eval.asr import UNITS, write_score_dir


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ref", required=True, help="reference Kaldi text file")
    parser.add_argument("--hyp", required=True, help="hypothesis Kaldi text file")
    parser.add_argument("--output_dir", required=True, help="gets score_wer/ and score_cer/")
    args = parser.parse_args(argv)
    with reported("score_asr"):
        refs, hyps = read_table(args.ref, "references"), read_table(args.hyp, "hypotheses")
        for unit, tokenize in UNITS.items():
            counts = write_score_dir(os.path.join(args.output_dir, f"score_{unit}"),
                                     refs, hyps, tokenize)
            print(f"{unit.upper()} {counts.percentages()['Err']:.1f}% "
                  f"({counts.err}/{counts.wrd}) on {args.output_dir}")


if __name__ == "__main__":
    main()
