"""Generate a synthetic speech corpus with espeak-ng, as Kaldi-style data dirs.

    python -m espnet_mamba.bin.espeak_corpus --out data --wavdir wav \
        --num_train 2400 --num_dev 200 --num_test 300 --seed 0

Sentences come from a small grammar (about 200 words, many thousand distinct
sentences); dev and test sentences never occur in train. Training utterances are spoken
by several espeak-ng voices at random speeds and pitches; dev uses the training voices,
test half the training voices and half voices held out from training. Speech comes from
libespeak-ng of the ``espeakng-loader`` wheel (:mod:`espnet_mamba.corpora.espeak_engine`),
installed with the package; each data dir gets a ``synthesis`` file naming the engine and
its version, the seed and the voices (audio differs between espeak-ng versions).

A single-voice corpus at a fixed speed and pitch (for TTS):

    python -m espnet_mamba.bin.espeak_corpus --out data --wavdir wav \
        --voices en-us+m1 --held_out_voices --speed_range 160 160 --pitch_range 50 50
"""
import argparse
import random
import shutil
import sys
from functools import partial
from math import gcd
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from espnet_mamba.corpora.espeak_engine import (
    EspeakError,
    EspeakNG,
    engine_description,
    map_in_fresh_processes,
)

TRAIN_VOICES = ["en-us+m1", "en-us+f2", "en-gb+m3", "en-gb-scotland+f1", "en-029+m2",
                "en-us-nyc+f4", "en-gb-x-rp+m4", "en+f3"]
HELD_OUT_VOICES = ["en-gb-x-gbclan+f5", "en-gb-x-gbcwmd+m6"]

WORDS = {
    "name": "ANNA BEN CARLA DAVID EMMA FRANK GRACE HENRY IRIS JACK KATE LEO MARIA NOAH "
            "OLIVIA PAUL",
    "adj": "RED GREEN BLUE YELLOW SMALL LARGE OLD NEW QUIET LOUD HAPPY TIRED BRIGHT DARK "
           "WARM COLD HEAVY LIGHT SOFT QUICK",
    "noun": "DOG CAT BIRD HORSE BOOK TABLE CHAIR WINDOW DOOR LAMP PHONE CUP BOTTLE CAR BOAT "
            "TRAIN APPLE ORANGE LETTER PICTURE CLOCK KEY BAG COAT",
    "nouns": "DOGS CATS BIRDS HORSES BOOKS TABLES CHAIRS WINDOWS DOORS LAMPS PHONES CUPS "
             "BOTTLES CARS BOATS TRAINS APPLES ORANGES LETTERS PICTURES CLOCKS KEYS BAGS COATS",
    "verb": "SEES FINDS MOVES OPENS CLOSES CARRIES WANTS BUYS SELLS PAINTS CLEANS HOLDS",
    "past": "SAW FOUND MOVED OPENED CLOSED CARRIED WANTED BOUGHT SOLD PAINTED CLEANED HELD",
    "place": "KITCHEN GARDEN OFFICE STATION MARKET LIBRARY SCHOOL HOUSE PARK STREET "
             "HOSPITAL BRIDGE",
    "prep": "IN NEAR BEHIND UNDER BESIDE",
    "num": "TWO THREE FOUR FIVE SIX SEVEN EIGHT NINE TEN ELEVEN TWELVE TWENTY",
    "day": "MONDAY TUESDAY WEDNESDAY THURSDAY FRIDAY SATURDAY SUNDAY",
    "time": "MORNING AFTERNOON EVENING NIGHT",
}
TEMPLATES = [
    "THE {adj} {noun} IS {prep} THE {place}",
    "{name} {past} THE {adj} {noun} ON {day}",
    "{name} {verb} {num} {adj} {nouns}",
    "PLEASE PUT THE {noun} {prep} THE {adj} {noun}",
    "WHERE IS THE {adj} {noun} THAT {name} {past}",
    "ON {day} {time} {name} WENT TO THE {place}",
    "{num} {nouns} AND {num} {nouns} ARE {prep} THE {place}",
    "DID {name} SEE THE {noun} {prep} THE {place}",
    "THE {place} OPENS AT {num} IN THE {time}",
    "{name} AND {name} {past} A {adj} {noun} {prep} THE {place}",
]


def sentences(count: int, rng: random.Random, exclude: set) -> List[str]:
    """``count`` distinct grammar sentences not in ``exclude``."""
    vocab = {k: v.split() for k, v in WORDS.items()}
    out: Dict[str, None] = {}
    for _ in range(count * 200):
        if len(out) == count:
            break
        template = rng.choice(TEMPLATES)
        text = template.format_map(_Sampler(vocab, rng))
        if text not in exclude:
            out[text] = None
    if len(out) < count:
        raise ValueError(f"the grammar gave only {len(out)} new sentences of {count}")
    return list(out)


class _Sampler(dict):
    """format_map mapping that draws a new word for every placeholder."""

    def __init__(self, vocab: Dict[str, List[str]], rng: random.Random):
        super().__init__()
        self.vocab, self.rng = vocab, rng

    def __missing__(self, key: str) -> str:
        return self.rng.choice(self.vocab[key])


def speak(text: str, voice: str, speed: int, pitch: int, path: Path, fs: int) -> float:
    """Synthesize ``text`` with espeak-ng and write ``fs`` Hz 16-bit mono; returns seconds."""
    engine = EspeakNG.get()
    audio, sr = engine.synthesize(text.lower(), voice, speed, pitch), engine.sample_rate
    if sr != fs:
        g = gcd(fs, sr)
        audio = resample_poly(audio, fs // g, sr // g).astype(np.float32)
    sf.write(path, np.clip(audio, -1, 1), fs, subtype="PCM_16")
    return len(audio) / fs


def _speak_item(item: Tuple[str, str, int, int, Path], fs: int) -> float:
    return speak(*item, fs=fs)


def synthesis_note(seed: int, voices: Sequence[str]) -> str:
    """The ``synthesis`` file of a data dir: engine and version, seed, voices."""
    return f"engine {engine_description()}\nseed {seed}\nvoices {' '.join(voices)}\n"


def write_set(name: str, items: Sequence[Tuple[str, str, str, int, int]], out: Path,
              wavdir: Path, fs: int, jobs: int, note: str = "") -> float:
    """Synthesize ``items`` (utt, text, voice, speed, pitch) into ``out/name``; returns hours.

    The data dir is written to ``name.tmp`` and renamed when complete; ``note`` goes to
    its ``synthesis`` file.
    """
    final, tmp = out / name, out / f"{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    (wavdir / name).mkdir(parents=True, exist_ok=True)
    paths = [(wavdir / name / f"{utt}.wav").resolve() for utt, *_ in items]
    seconds = map_in_fresh_processes(
        partial(_speak_item, fs=fs),
        [(text, voice, speed, pitch, path)
         for (_, text, voice, speed, pitch), path in zip(items, paths)], jobs)
    rows = sorted(zip(items, paths))
    (tmp / "wav.scp").write_text("".join(f"{i[0]} {p}\n" for i, p in rows))
    (tmp / "text").write_text("".join(f"{i[0]} {i[1]}\n" for i, _ in rows))
    (tmp / "utt2spk").write_text("".join(f"{i[0]} {i[0].split('_')[0]}\n" for i, _ in rows))
    spk2utt: Dict[str, List[str]] = {}
    for (utt, *_), _ in rows:
        spk2utt.setdefault(utt.split("_")[0], []).append(utt)
    (tmp / "spk2utt").write_text("".join(f"{s} {' '.join(u)}\n" for s, u in sorted(spk2utt.items())))
    (tmp / "synthesis").write_text(note)
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    return sum(seconds) / 3600


def plan(texts: List[str], voices: List[str], prefix: str, rng: random.Random,
         speed_range: Tuple[int, int] = (130, 190), pitch_range: Tuple[int, int] = (30, 70)):
    """(utt, text, voice, speed, pitch) per sentence: voices in turn, speed (words per
    minute) and pitch (0-99) drawn uniformly from the inclusive ranges."""
    items = []
    for i, text in enumerate(texts):
        voice = voices[i % len(voices)]
        speaker = voice.replace("+", "-")
        items.append((f"{speaker}_{prefix}{i:05d}", text, voice, rng.randint(*speed_range),
                      rng.randint(*pitch_range)))
    return items


def check_voices(voices: Sequence[str], prog: str = "espeak_corpus") -> None:
    """Exit with a message naming the first voice espeak-ng does not know (or why the
    library does not load)."""
    try:
        engine = EspeakNG.get()
        for voice in voices:
            engine.set_voice(voice)
    except EspeakError as exc:
        sys.exit(f"{prog}: {exc}")


def check_range(name: str, low: int, high: int, limits: Tuple[int, int]) -> Tuple[int, int]:
    """``(low, high)`` if ``limits[0] <= low <= high <= limits[1]``, else exit naming it."""
    if not limits[0] <= low <= high <= limits[1]:
        sys.exit(f"espeak_corpus: --{name} must be MIN MAX with {limits[0]} <= MIN <= MAX "
                 f"<= {limits[1]}; got {low} {high}")
    return low, high


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="where data/<set> dirs go")
    parser.add_argument("--wavdir", type=Path, required=True, help="where the audio goes")
    parser.add_argument("--num_train", type=int, default=2400)
    parser.add_argument("--num_dev", type=int, default=200)
    parser.add_argument("--num_test", type=int, default=300)
    parser.add_argument("--fs", type=int, default=16000)
    parser.add_argument("--seed", type=int, default=0,
                        help="a different seed gives a separately generated corpus")
    parser.add_argument("--test_seed", type=int, default=None,
                        help="write only a separately generated test set, with sentences "
                             "and speeds from this seed (still unseen in --seed's train/dev)")
    parser.add_argument("--test_name", default="test",
                        help="data dir name of the test set")
    parser.add_argument("--voices", nargs="+", default=TRAIN_VOICES, metavar="VOICE",
                        help="espeak-ng voices of train, dev and the first half of test")
    parser.add_argument("--held_out_voices", nargs="*", default=HELD_OUT_VOICES,
                        metavar="VOICE", help="voices of the second half of test, never "
                        "in train/dev (none: the whole test set by --voices)")
    parser.add_argument("--speed_range", nargs=2, type=int, default=[130, 190],
                        metavar=("MIN", "MAX"), help="speaking rate in words per minute")
    parser.add_argument("--pitch_range", nargs=2, type=int, default=[30, 70],
                        metavar=("MIN", "MAX"), help="espeak-ng pitch, 0-99")
    parser.add_argument("--jobs", type=int, default=2,
                        help="synthesis processes (the audio depends on this number: see "
                             "espnet_mamba.corpora.espeak_engine)")
    args = parser.parse_args(argv)
    prosody = dict(speed_range=check_range("speed_range", *args.speed_range, (80, 450)),
                   pitch_range=check_range("pitch_range", *args.pitch_range, (0, 99)))
    check_voices(args.voices + args.held_out_voices)
    rng = random.Random(args.seed)
    train = sentences(args.num_train, rng, set())
    dev = sentences(args.num_dev, rng, set(train))
    test = sentences(args.num_test, rng, set(train) | set(dev))
    sets = {"train": plan(train, args.voices, "tr", rng, **prosody),
            "dev": plan(dev, args.voices, "dv", rng, **prosody)}
    if args.test_seed is not None:
        rng = random.Random(args.test_seed)
        test = sentences(args.num_test, rng, set(train) | set(dev))
        sets = {}
    half = len(test) // 2 if args.held_out_voices else len(test)
    sets[args.test_name] = (plan(test[:half], args.voices, "ts", rng, **prosody)
                            + plan(test[half:], args.held_out_voices, "th", rng, **prosody))
    for name, items in sets.items():
        seed = args.seed if args.test_seed is None else args.test_seed
        note = synthesis_note(seed, sorted({i[2] for i in items}))
        hours = write_set(name, items, args.out, args.wavdir, args.fs, args.jobs, note)
        print(f"{name}: {len(items)} utterances, {hours:.2f} h, "
              f"{len({i[2] for i in items})} voices", flush=True)


if __name__ == "__main__":
    main()
