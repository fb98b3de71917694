"""Score ASR hypotheses against references: WER and CER with sclite-style alignments.

    python -m espnet_mamba.bin.score_asr --ref data/test/text \\
        --hyp exp/asr/decode/test/text --output_dir exp/asr/decode/test

Both inputs are Kaldi ``text`` files; writes ``<output_dir>/score_{wer,cer}/`` with
``ref.trn``, ``hyp.trn``, ``result.txt`` and ``summary.json``
(:mod:`espnet_mamba.eval.asr`), and prints the error rates.  With ``--vocab_text
data/train/text`` it also splits the word errors by whether the reference word occurs in
that text (in-vocabulary / OOV words), printed and written to
``score_wer/vocabulary_split.json``.  With ``--utt2spk data/test/utt2spk`` it also scores
each speaker (in the synthetic corpora: each voice) apart: WER, CER and CER without
spaces, printed as a table and written to ``<output_dir>/by_speaker.json``.
"""
import argparse
import json
import os
from typing import Dict, List, Optional

from espnet_mamba.bin import reported
from espnet_mamba.data import read_table
from espnet_mamba.eval.asr import (UNITS, Step, by_speaker, letters, score,
                                   vocabulary_split, write_score_dir)


# the units of the speaker table, as its header names them
SPEAKER_LABELS = {"wer": "WER", "cer": "CER", "cer_nospace": "CER without spaces"}


def score_speakers(alignments: Dict[str, Dict[str, List[Step]]], utt2spk: Dict[str, str],
                   out_path: str) -> None:
    """Print and write (JSON) each speaker's error rate in every unit of ``alignments``
    (a key of SPEAKER_LABELS -> :func:`espnet_mamba.eval.asr.score`'s alignments)."""
    counts = {unit: by_speaker(unit_alignments, utt2spk)
              for unit, unit_alignments in alignments.items()}
    speakers = next(iter(counts.values()))
    width = max(len("speaker"), *(len(spk) for spk in speakers))
    print(f"{'speaker':<{width}}  utts" + "".join(f"  {SPEAKER_LABELS[u]:>5}" for u in counts))
    for spk, c in speakers.items():
        rates = "".join(f" {counts[u][spk].percentages()['Err']:6.1f}" for u in counts)
        print(f"{spk:<{width}} {c.snt:5d}{rates}")
    table = {spk: {"utts": c.snt, **{u: {"errors": counts[u][spk].err,
                                         "tokens": counts[u][spk].wrd} for u in counts}}
             for spk, c in speakers.items()}
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(table, f, indent=1)


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ref", required=True, help="reference Kaldi text file")
    parser.add_argument("--hyp", required=True, help="hypothesis Kaldi text file")
    parser.add_argument("--output_dir", required=True, help="gets score_wer/ and score_cer/")
    parser.add_argument("--vocab_text", default=None,
                        help="a Kaldi text file (the training text): also split the word "
                             "errors into its words and the others (OOV)")
    parser.add_argument("--utt2spk", default=None,
                        help="a Kaldi utt2spk file: also score each speaker (voice) apart")
    args = parser.parse_args(argv)
    with reported("score_asr"):
        refs, hyps = read_table(args.ref, "references"), read_table(args.hyp, "hypotheses")
        alignments = {}
        for unit, tokenize in UNITS.items():
            counts, alignments[unit] = write_score_dir(
                os.path.join(args.output_dir, f"score_{unit}"), refs, hyps, tokenize)
            print(f"{unit.upper()} {counts.percentages()['Err']:.1f}% "
                  f"({counts.err}/{counts.wrd}) on {args.output_dir}")
        if args.vocab_text:
            vocab = {w for text in read_table(args.vocab_text, "vocabulary text").values()
                     for w in text.split()}
            split = vocabulary_split(alignments["wer"], vocab)
            for name, counts in split.items():
                print(f"WER of {name} reference words (Sub+Del) "
                      f"{counts.percentages()['Err']:.1f}% ({counts.err}/{counts.wrd})")
            path = os.path.join(args.output_dir, "score_wer", "vocabulary_split.json")
            with open(path, "w", encoding="utf-8") as f:
                json.dump({name: {"words": c.wrd, "errors": c.err, "sub": c.sub,
                                  "del": c.dele} for name, c in split.items()}, f, indent=1)
        if args.utt2spk:
            alignments["cer_nospace"] = score(refs, hyps, letters)[1]
            score_speakers(alignments, read_table(args.utt2spk, "utt2spk"),
                           os.path.join(args.output_dir, "by_speaker.json"))


if __name__ == "__main__":
    main()
