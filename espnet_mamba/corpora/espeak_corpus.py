"""A synthetic speech corpus spoken by espeak-ng, Festival, Flite and Piper voices, as
Kaldi-style data dirs.

Sentences come from a small grammar (about 200 words, many thousand distinct
sentences; :func:`sentences`) or from WordNet's usage examples
(:mod:`espnet_mamba.corpora.wordnet_text`; :func:`draw`); either way dev and test
sentences never occur in train.  :func:`plan` gives each sentence a voice (in turn), a
speed and a pitch; :func:`write_set` synthesizes a set, espeak-ng voices in fresh
processes (:mod:`espnet_mamba.corpora.espeak_engine`), ``festival:<voice>`` voices in
Festival (:mod:`espnet_mamba.corpora.festival_engine`), ``flite:<voice>`` voices in Flite
(:mod:`espnet_mamba.corpora.flite_engine`), ``piper:<model>`` voices in Piper
(:mod:`espnet_mamba.corpora.piper_engine`), and writes its data dir with a
``synthesis`` file naming the engines and their versions, the seed and the voices (audio
differs between engine versions).
"""
import random
import re
from functools import partial
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from espnet_mamba.corpora import festival_engine, flite_engine, piper_engine
from espnet_mamba.corpora.espeak_engine import (
    EspeakError,
    EspeakNG,
    engine_description,
    map_in_fresh_processes,
)
from espnet_mamba.data import DataError, atomic_dir, spk2utt, write_table
from espnet_mamba.data.format import write_resampled

TRAIN_VOICES = ["en-us+m1", "en-us+f2", "en-gb+m3", "en-gb-scotland+f1", "en-029+m2",
                "en-us-nyc+f4", "en-gb-x-rp+m4", "en+f3"]
HELD_OUT_VOICES = ["en-gb-x-gbclan+f5", "en-gb-x-gbcwmd+m6"]
GRAMMAR = "grammar: espnet_mamba.corpora.espeak_corpus"  # the text source, as notes name it
# The engines of voices named "<prefix><voice>", in the order a set is spoken; every other
# voice is espeak-ng's.  Each has PREFIX, check_voices, version and synthesize.
EXTERNAL_ENGINES = (festival_engine, flite_engine, piper_engine)
ENGINE_ERRORS = (EspeakError, festival_engine.FestivalError, flite_engine.FliteError,
                 piper_engine.PiperError)

# One planned utterance: (utt, text, voice, speed in words per minute, pitch 0-99).
Item = Tuple[str, str, str, int, int]

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


class _Sampler(dict):
    """format_map mapping that draws a new word for every placeholder."""

    def __init__(self, vocab: Dict[str, List[str]], rng: random.Random):
        super().__init__()
        self.vocab, self.rng = vocab, rng

    def __missing__(self, key: str) -> str:
        return self.rng.choice(self.vocab[key])


def sentences(count: int, rng: random.Random, exclude: set) -> List[str]:
    """``count`` distinct grammar sentences not in ``exclude``.

    Raises:
        DataError: the grammar has fewer new sentences than ``count``.
    """
    vocab = {k: v.split() for k, v in WORDS.items()}
    out: Dict[str, None] = {}
    for _ in range(count * 200):
        if len(out) == count:
            break
        text = rng.choice(TEMPLATES).format_map(_Sampler(vocab, rng))
        if text not in exclude:
            out[text] = None
    if len(out) < count:
        raise DataError(f"the grammar gave only {len(out)} new sentences of {count}")
    return list(out)


def draw(pool: Sequence[str], count: int, rng: random.Random, exclude: set) -> List[str]:
    """``count`` distinct sentences of ``pool`` not in ``exclude``, in a random order.

    Raises:
        DataError: ``pool`` has fewer new sentences than ``count``.
    """
    fresh = sorted(set(pool) - exclude)
    if len(fresh) < count:
        raise DataError(f"the text source has only {len(fresh)} new sentences of {count}")
    return rng.sample(fresh, count)


def speak(text: str, voice: str, speed: int, pitch: int, path: Path, fs: int) -> float:
    """Synthesize ``text`` with espeak-ng and write ``fs`` Hz 16-bit mono; returns seconds."""
    engine = EspeakNG.get()
    return write_resampled(path, engine.synthesize(text.lower(), voice, speed, pitch),
                           engine.sample_rate, fs)


def _speak_item(item: Tuple[str, str, int, int, Path], fs: int) -> float:
    return speak(*item, fs=fs)


def is_espeak(voice: str) -> bool:
    """Whether espeak-ng speaks the voice (no external engine's prefix)."""
    return not any(voice.startswith(e.PREFIX) for e in EXTERNAL_ENGINES)


def check_voices(voices: Sequence[str]) -> None:
    """Every voice must be known to espeak-ng, or, as ``festival:<voice>``,
    ``flite:<voice>`` or ``piper:<model>``, to Festival, Flite or Piper.

    Raises:
        DataError: naming the first unknown voice, or why an engine does not load.
    """
    try:
        for engine in EXTERNAL_ENGINES:
            engine.check_voices([v for v in voices if v.startswith(engine.PREFIX)])
        espeak = [v for v in voices if is_espeak(v)]
        if espeak:
            espeak_ng = EspeakNG.get()
            for voice in espeak:
                espeak_ng.set_voice(voice)
    except ENGINE_ERRORS as exc:
        raise DataError(str(exc)) from None


def synthesis_note(seed: int, voices: Sequence[str], text: str = GRAMMAR) -> str:
    """The ``synthesis`` file of a data dir: text source, engines and versions, seed,
    voices."""
    engines = [engine_description()] if any(is_espeak(v) for v in voices) else []
    engines += [e.version() for e in EXTERNAL_ENGINES
                if any(v.startswith(e.PREFIX) for v in voices)]
    return (f"text {text}\nengine {'; '.join(engines)}\nseed {seed}\n"
            f"voices {' '.join(voices)}\n")


def speaker_id(voice: str) -> str:
    """The speaker id of a voice: ``en-us+m1`` -> ``en-us-m1``, ``festival:kal_diphone``
    -> ``festival-kal-diphone``, ``flite:awb`` -> ``flite-awb``, ``piper:en_US-joe-medium``
    -> ``piper-en-US-joe-medium`` (no ``_``: it separates speaker and utterance ids)."""
    return re.sub(r"[+:_]", "-", voice)


def plan(texts: List[str], voices: List[str], prefix: str, rng: random.Random,
         speed_range: Tuple[int, int] = (130, 190),
         pitch_range: Tuple[int, int] = (30, 70)) -> List[Item]:
    """One item per sentence: voices in turn, speed (words per minute) and pitch (0-99)
    drawn uniformly from the inclusive ranges; the speaker id is the voice's name."""
    items = []
    for i, text in enumerate(texts):
        voice = voices[i % len(voices)]
        items.append((f"{speaker_id(voice)}_{prefix}{i:05d}", text, voice,
                      rng.randint(*speed_range), rng.randint(*pitch_range)))
    return items


def write_set(name: str, items: Sequence[Item], out: Path, wavdir: Path, fs: int,
              jobs: int, note: str = "") -> float:
    """Synthesize ``items`` into the data dir ``out/name`` (``wav.scp``, ``text``,
    ``utt2spk``, ``spk2utt``, ``synthesis`` holding ``note``), audio in
    ``wavdir/name/``; returns hours.  The data dir appears only when complete."""
    (wavdir / name).mkdir(parents=True, exist_ok=True)
    paths = [(wavdir / name / f"{utt}.wav").resolve() for utt, *_ in items]
    espeak = [(text, voice, speed, pitch, path)
              for (_, text, voice, speed, pitch), path in zip(items, paths) if is_espeak(voice)]
    try:
        seconds = map_in_fresh_processes(partial(_speak_item, fs=fs), espeak, jobs)
        for engine in EXTERNAL_ENGINES:
            seconds += engine.synthesize(
                [(text, voice[len(engine.PREFIX):], speed, path)
                 for (_, text, voice, speed, _), path in zip(items, paths)
                 if voice.startswith(engine.PREFIX)], fs, jobs)
    except ENGINE_ERRORS as exc:
        raise DataError(str(exc)) from None
    utt2spk = {utt: utt.split("_")[0] for utt, *_ in items}
    with atomic_dir(out / name) as tmp:
        write_table(str(tmp / "wav.scp"), {item[0]: str(p) for item, p in zip(items, paths)})
        write_table(str(tmp / "text"), {utt: text for utt, text, *_ in items})
        write_table(str(tmp / "utt2spk"), utt2spk)
        write_table(str(tmp / "spk2utt"), spk2utt(utt2spk))
        (tmp / "synthesis").write_text(note)
    return sum(seconds) / 3600
