"""Write a language model's training text: every WordNet usage example that is not an
utterance of the given evaluation sets (dev, test), as a Kaldi ``text`` table.

    python -m espnet_mamba.bin.write_lm_text --exclude data/dev/text data/test/text \\
        --out data/lm_train/text

The ASR training sentences stay in (they are the LM's in-domain part); the sentences of
``--exclude`` never appear, so decoding with the LM sees no test sentence.  Prints how
many sentences and words it wrote, and for each excluded set the share of its words that
are not in the written text (its OOV rate against the LM text).
"""
import argparse
from pathlib import Path
from typing import List, Optional

from espnet_mamba.bin import reported
from espnet_mamba.corpora import wordnet_text
from espnet_mamba.data import atomic_write, read_table


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exclude", nargs="+", required=True, metavar="TEXT",
                        help="Kaldi text files whose sentences must not be written")
    parser.add_argument("--out", type=Path, required=True,
                        help="the text table to write (its folder is created)")
    parser.add_argument("--wordnet_dir", type=Path, default=wordnet_text.WORDNET_DIR,
                        help="folder of WordNet's data.noun, data.verb, data.adj, data.adv")
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    args = get_parser().parse_args(argv)
    with reported("write_lm_text"):
        held = {path: list(read_table(path, "sentences to exclude").values())
                for path in args.exclude}
        excluded = {text for texts in held.values() for text in texts}
        kept = [s for s in wordnet_text.sentences(args.wordnet_dir) if s not in excluded]
        args.out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(args.out, "".join(f"wordnet_{i:05d} {s}\n" for i, s in enumerate(kept)))
    words = sum(len(s.split()) for s in kept)
    print(f"{args.out}: {len(kept)} sentences, {words} words ({len(excluded)} excluded)")
    for path, texts in held.items():
        tokens, _ = wordnet_text.oov_rates(kept, texts)
        print(f"{path}: {tokens:.4f} of its words are not in the LM text")


if __name__ == "__main__":
    main()
