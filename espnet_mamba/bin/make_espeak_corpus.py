"""Generate a synthetic speech corpus with espeak-ng (and Festival, Flite, Piper), as
Kaldi-style data dirs.

    python -m espnet_mamba.bin.make_espeak_corpus --out data --wavdir wav \\
        --num_train 2400 --num_dev 200 --num_test 300 --seed 0

Grammar sentences (:mod:`espnet_mamba.corpora.espeak_corpus`), or with ``--text
wordnet`` WordNet's usage examples (:mod:`espnet_mamba.corpora.wordnet_text`, open
vocabulary: the test set's out-of-training-vocabulary rate is printed and written to its
``synthesis`` file); dev and test sentences never occur in train.  Training utterances
are spoken by several voices at random speeds and pitches: espeak-ng voices by name,
Festival voices as ``festival:<voice>`` (``festival:kal_diphone``), Flite voices as
``flite:<voice>`` (``flite:awb``), Piper voices as ``piper:<model>``
(``piper:en_US-joe-medium``); dev uses the
training voices, test half the training voices and half voices held out from training.
Each data dir gets a ``synthesis`` file naming the text source, the engines and their
versions, the seed and the voices.

The same seed's test sentences (and speeds, pitches) spoken by other voices, without
train and dev: ``--only_test --held_out_voices piper:en_US-joe-medium`` (the held-out
half by that voice).

A single-voice corpus at a fixed speed and pitch (for TTS):

    python -m espnet_mamba.bin.make_espeak_corpus --out data --wavdir wav \\
        --voices en-us+m1 --held_out_voices --speed_range 160 160 --pitch_range 50 50
"""
import argparse
import random
import sys
from functools import partial
from pathlib import Path
from typing import List, Optional, Tuple

from espnet_mamba.bin import add_corpus_options, reported
from espnet_mamba.corpora import wordnet_text
from espnet_mamba.corpora.espeak_corpus import (
    GRAMMAR,
    HELD_OUT_VOICES,
    TRAIN_VOICES,
    check_voices,
    draw,
    plan,
    sentences,
    synthesis_note,
    write_set,
)


def check_range(name: str, low: int, high: int, limits: Tuple[int, int]) -> Tuple[int, int]:
    """``(low, high)`` if ``limits[0] <= low <= high <= limits[1]``, else exit naming it."""
    if not limits[0] <= low <= high <= limits[1]:
        sys.exit(f"make_espeak_corpus: --{name} must be MIN MAX with {limits[0]} <= MIN <= "
                 f"MAX <= {limits[1]}; got {low} {high}")
    return low, high


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="where data/<set> dirs go")
    parser.add_argument("--wavdir", type=Path, required=True, help="where the audio goes")
    parser.add_argument("--num_train", type=int, default=2400)
    parser.add_argument("--num_dev", type=int, default=200)
    parser.add_argument("--num_test", type=int, default=300)
    parser.add_argument("--fs", type=int, default=16000)
    parser.add_argument("--voices", nargs="+", default=TRAIN_VOICES, metavar="VOICE",
                        help="espeak-ng voices of train, dev and the first half of test")
    parser.add_argument("--held_out_voices", nargs="*", default=HELD_OUT_VOICES,
                        metavar="VOICE", help="voices of the second half of test, never "
                        "in train/dev (none: the whole test set by --voices)")
    parser.add_argument("--speed_range", nargs=2, type=int, default=[130, 190],
                        metavar=("MIN", "MAX"), help="speaking rate in words per minute")
    parser.add_argument("--pitch_range", nargs=2, type=int, default=[30, 70],
                        metavar=("MIN", "MAX"), help="espeak-ng pitch, 0-99")
    parser.add_argument("--text", choices=["grammar", "wordnet"], default="grammar",
                        help="sentence source: the closed grammar, or WordNet 3.0's usage "
                             "examples (open vocabulary; Debian wordnet-base)")
    parser.add_argument("--wordnet_dir", type=Path, default=wordnet_text.WORDNET_DIR,
                        help="folder of WordNet's data.noun, data.verb, data.adj, data.adv")
    parser.add_argument("--only_test", action="store_true",
                        help="write only the test set: --seed's own test sentences and "
                             "prosody, spoken by these voices (e.g. a new held-out voice)")
    add_corpus_options(parser)
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    args = get_parser().parse_args(argv)
    prosody = dict(speed_range=check_range("speed_range", *args.speed_range, (80, 450)),
                   pitch_range=check_range("pitch_range", *args.pitch_range, (0, 99)))
    with reported("make_espeak_corpus"):
        check_voices(args.voices + args.held_out_voices)
        if args.text == "wordnet":
            pool = wordnet_text.sentences(args.wordnet_dir)
            pick = partial(draw, pool)
            text = f"wordnet: usage examples of {wordnet_text.LICENCE}"
        else:
            pick, text = sentences, GRAMMAR
        rng = random.Random(args.seed)
        train = pick(args.num_train, rng, set())
        dev = pick(args.num_dev, rng, set(train))
        test = pick(args.num_test, rng, set(train) | set(dev))
        sets = {"train": plan(train, args.voices, "tr", rng, **prosody),
                "dev": plan(dev, args.voices, "dv", rng, **prosody)}
        if args.test_seed is not None:
            rng = random.Random(args.test_seed)
            test = pick(args.num_test, rng, set(train) | set(dev))
        if args.test_seed is not None or args.only_test:
            sets = {}
        half = len(test) // 2 if args.held_out_voices else len(test)
        sets[args.test_name] = (plan(test[:half], args.voices, "ts", rng, **prosody)
                                + plan(test[half:], args.held_out_voices, "th", rng, **prosody))
        tokens, with_oov = wordnet_text.oov_rates(train, test)
        oov = (f"oov {tokens:.4f} of the test words are not in the training text; "
               f"{with_oov:.4f} of the test sentences hold one\n")
        print(f"{args.test_name}: {oov}", end="", flush=True)
        seed = args.seed if args.test_seed is None else args.test_seed
        for name, items in sets.items():
            voices = sorted({item[2] for item in items})
            note = synthesis_note(seed, voices, text) + (oov if name == args.test_name else "")
            hours = write_set(name, items, args.out, args.wavdir, args.fs, args.jobs, note)
            print(f"{name}: {len(items)} utterances, {hours:.2f} h, {len(voices)} voices",
                  flush=True)


if __name__ == "__main__":
    main()
