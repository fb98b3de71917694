"""Score separated speech: SI-SNR(i), SDR(i), STOI and PESQ per utterance.

    python -m espnet_mamba.bin.score_enh --mix_scp dump/raw/test/wav.scp \\
        --ref_scp dump/raw/test/spk1.scp --ref_scp dump/raw/test/spk2.scp \\
        --inf_scp exp/enh/enhanced_test/spk1.scp --inf_scp exp/enh/enhanced_test/spk2.scp \\
        --output_dir exp/enh/enhanced_test/scoring

Pairs every reference with its best-matching estimate and writes
``<output_dir>/per_utterance.tsv`` and ``summary.json`` (:mod:`espnet_mamba.eval.enh`);
prints the means.  The signals of one utterance must share one sample rate; estimates
may be a few samples longer or shorter (``--max_length_diff``) and are then cut.
"""
import argparse
from typing import List, Optional

from espnet_mamba.bin import reported
from espnet_mamba.eval.enh import METRICS, score_set


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mix_scp", required=True, help="the mixtures (input of separation)")
    parser.add_argument("--ref_scp", action="append", required=True,
                        help="references, one scp per speaker (repeat the option)")
    parser.add_argument("--inf_scp", action="append", required=True,
                        help="estimates, one scp per speaker (repeat the option)")
    parser.add_argument("--output_dir", required=True,
                        help="gets per_utterance.tsv and summary.json")
    parser.add_argument("--metrics", nargs="+", choices=METRICS, default=list(METRICS))
    parser.add_argument("--max_length_diff", type=int, default=16,
                        help="largest length difference (samples) cut off silently")
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    args = get_parser().parse_args(argv)
    with reported("score_enh"):
        means = score_set(args.mix_scp, args.ref_scp, args.inf_scp, args.output_dir,
                          args.metrics, args.max_length_diff)
    print(" ".join(f"{c} {v:.2f}" for c, v in means.items()))


if __name__ == "__main__":
    main()
