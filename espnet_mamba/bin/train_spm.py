"""Train a sentencepiece model (stage 3 of asr.sh with ``--token_type bpe``).

    python -m espnet_mamba.bin.train_spm --input train.txt --model_prefix bpe \\
        --vocab_size 5000 --model_type unigram

Writes ``<model_prefix>.model`` and ``<model_prefix>.vocab``.  The options keep the names
of sentencepiece's ``spm_train`` program, which pip's sentencepiece does not install.
"""
import argparse
from typing import List, Optional

import sentencepiece


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--input", required=True, help="text file, one sentence a line")
    parser.add_argument("--model_prefix", required=True)
    parser.add_argument("--vocab_size", type=int, required=True)
    parser.add_argument("--model_type", default="unigram",
                        choices=("unigram", "bpe", "char", "word"))
    parser.add_argument("--character_coverage", type=float, default=1.0)
    parser.add_argument("--input_sentence_size", type=int, default=100000000,
                        help="sample at most this many sentences")
    parser.add_argument("--user_defined_symbols", default="",
                        help="comma-separated symbols kept as single pieces")
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    args = get_parser().parse_args(argv)
    sentencepiece.SentencePieceTrainer.train(
        input=args.input,
        model_prefix=args.model_prefix,
        vocab_size=args.vocab_size,
        model_type=args.model_type,
        character_coverage=args.character_coverage,
        input_sentence_size=args.input_sentence_size,
        shuffle_input_sentence=True,
        user_defined_symbols=args.user_defined_symbols,
    )


if __name__ == "__main__":
    main()
