"""Generate a 2-speaker mixture corpus (wsj0-2mix style) with espeak-ng, as data dirs.

    python -m espnet_mamba.bin.espeak_mix --out data --wavdir downloads/wav \\
        --num_train 1000 --num_dev 60 --num_test 200 --seed 0

Each mixture sums two different sentences spoken by two *different* espeak-ng voices,
each at a random speed (150-200 wpm) and pitch.  The sources are brought to the same
RMS level, then set apart by a random relative level of 0 to ``--max_snr`` dB (the
first source ``+snr/2`` dB, the second ``-snr/2`` dB, as wsj0-2mix's 0-2.5 dB each);
``--mode min`` (default) cuts both to the shorter one, ``max`` pads the shorter with
silence.  Mixture and references are scaled together to a peak of 0.9 and written as
16-bit PCM; the mixture is exactly the sum of the written references.

Train and dev pair the 8 training voices of :mod:`espnet_mamba.bin.espeak_corpus`
(unseen sentences in dev); every test mixture has at least one of its 2 held-out voices,
and test sentences occur in neither train nor dev.  Writes ``<out>/<set>/`` with
``wav.scp`` (mixture), ``spk1.scp``, ``spk2.scp``, ``utt2spk``, ``spk2utt``,
``text_spk1`` and ``text_spk2``; audio goes to ``<wavdir>/<set>/{mix,s1,s2}/``.
Speech comes from libespeak-ng of the ``espeakng-loader`` wheel (installed with the
package); each data dir gets a ``synthesis`` file naming the engine, seed and voices.
"""
import argparse
import random
import shutil
import sys
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import soundfile as sf

from espnet_mamba.bin.espeak_corpus import (
    HELD_OUT_VOICES,
    TRAIN_VOICES,
    check_voices,
    sentences,
    speak,
    synthesis_note,
)
from espnet_mamba.corpora.espeak_engine import map_in_fresh_processes

SPEEDS = (150, 200)  # words per minute, inclusive
PITCHES = (30, 70)
PEAK = 0.9
MODES = ("min", "max")


@dataclass(frozen=True)
class Source:
    """One utterance of a mixture."""

    text: str
    voice: str
    speed: int
    pitch: int

    @property
    def speaker(self) -> str:
        return self.voice.replace("+", "-")


@dataclass(frozen=True)
class Mixture:
    """Two sources and the level of the first above the second (dB)."""

    utt: str
    sources: Tuple[Source, Source]
    snr: float


def voice_pair(rng: random.Random, voices: Sequence[str],
               required: Optional[str] = None) -> Tuple[str, str]:
    """Two different voices from ``voices`` in random order; ``required`` is one of them."""
    if required is None:
        return tuple(rng.sample(list(voices), 2))
    other = rng.choice([v for v in voices if v != required])
    return (required, other) if rng.random() < 0.5 else (other, required)


def plan(texts: Sequence[str], prefix: str, rng: random.Random, max_snr: float,
         held_out: bool) -> List[Mixture]:
    """Mixtures of consecutive text pairs.  ``held_out``: every mixture has a held-out
    voice (cycling through them), the other voice from all the rest."""
    mixtures = []
    for i in range(len(texts) // 2):
        if held_out:
            voices = voice_pair(rng, TRAIN_VOICES + HELD_OUT_VOICES,
                                required=HELD_OUT_VOICES[i % len(HELD_OUT_VOICES)])
        else:
            voices = voice_pair(rng, TRAIN_VOICES)
        sources = tuple(Source(text, voice, rng.randint(*SPEEDS), rng.randint(*PITCHES))
                        for text, voice in zip(texts[2 * i:2 * i + 2], voices))
        utt = f"{sources[0].speaker}_{sources[1].speaker}_{prefix}{i:05d}"
        mixtures.append(Mixture(utt, sources, rng.uniform(0.0, max_snr)))
    return mixtures


def to_pcm16(audio: np.ndarray) -> np.ndarray:
    """Round to int16 sample values."""
    return np.round(audio * 32768.0).astype(np.int16)


def mix(signals: Sequence[np.ndarray], snr: float, mode: str = "min"
        ) -> Tuple[np.ndarray, np.ndarray]:
    """Mix two signals: returns ``(mixture, references)`` as int16, ``mixture`` exactly
    ``references.sum(0)``; references (2, T) at equal RMS, then +-snr/2 dB."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    length = (min if mode == "min" else max)(len(s) for s in signals)
    refs = np.zeros((2, length))
    for i, (signal, sign) in enumerate(zip(signals, (1, -1))):
        signal = np.asarray(signal[:length], dtype=np.float64)
        rms = np.sqrt(np.mean(signal ** 2))
        if rms == 0:
            raise ValueError(f"source {i + 1} is silent")
        refs[i, :len(signal)] = signal / rms * 10 ** (sign * snr / 40)
    refs *= PEAK / max(np.abs(refs).max(), np.abs(refs.sum(axis=0)).max())
    refs16 = to_pcm16(refs)  # their sum stays within 1 LSB of the peak: no overflow
    return refs16.sum(axis=0, dtype=np.int16), refs16


def synthesize(mixture: Mixture, wavdir: Path, fs: int, mode: str) -> float:
    """Speak both sources, mix them, write ``wavdir/{mix,s1,s2}/<utt>.wav``; seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        signals = []
        for i, source in enumerate(mixture.sources):
            path = Path(tmp) / f"s{i + 1}.wav"
            speak(source.text, source.voice, source.speed, source.pitch, path, fs)
            signals.append(sf.read(path, dtype="float64")[0])
    mixed, refs = mix(signals, mixture.snr, mode)
    for name, audio in (("mix", mixed), ("s1", refs[0]), ("s2", refs[1])):
        sf.write(wavdir / name / f"{mixture.utt}.wav", audio, fs, subtype="PCM_16")
    return len(mixed) / fs


def write_tables(data_dir: Path, mixtures: Sequence[Mixture], wavdir: Path) -> None:
    """The data dir's tables, sorted by utterance id."""
    mixtures = sorted(mixtures, key=lambda m: m.utt)
    tables: Dict[str, List[str]] = {name: [] for name in
                                    ("wav.scp", "spk1.scp", "spk2.scp", "utt2spk",
                                     "text_spk1", "text_spk2")}
    spk2utt: Dict[str, List[str]] = {}
    for m in mixtures:
        pair = "_".join(s.speaker for s in m.sources)
        tables["wav.scp"].append(f"{m.utt} {wavdir / 'mix' / m.utt}.wav")
        tables["utt2spk"].append(f"{m.utt} {pair}")
        spk2utt.setdefault(pair, []).append(m.utt)
        for i, source in enumerate(m.sources, 1):
            tables[f"spk{i}.scp"].append(f"{m.utt} {wavdir / f's{i}' / m.utt}.wav")
            tables[f"text_spk{i}"].append(f"{m.utt} {source.text}")
    tables["spk2utt"] = [f"{pair} {' '.join(utts)}" for pair, utts in sorted(spk2utt.items())]
    for name, lines in tables.items():
        (data_dir / name).write_text("".join(line + "\n" for line in lines))


def write_set(name: str, mixtures: Sequence[Mixture], out: Path, wavdir: Path, fs: int,
              mode: str, jobs: int, note: str = "") -> float:
    """Synthesize ``mixtures`` into ``out/name``; returns hours.  The data dir is
    written to ``name.tmp`` and renamed when complete; ``note`` goes to its
    ``synthesis`` file."""
    final, tmp = out / name, out / f"{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    audio_dir = (wavdir / name).resolve()
    for sub in ("mix", "s1", "s2"):
        (audio_dir / sub).mkdir(parents=True, exist_ok=True)
    seconds = map_in_fresh_processes(partial(synthesize, wavdir=audio_dir, fs=fs, mode=mode),
                                     mixtures, jobs)
    write_tables(tmp, mixtures, audio_dir)
    (tmp / "synthesis").write_text(note)
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    return sum(seconds) / 3600


def make_plans(num_train: int, num_dev: int, num_test: int, seed: int, max_snr: float,
               test_seed: Optional[int] = None, test_name: str = "test"
               ) -> Dict[str, List[Mixture]]:
    """The mixtures of every set to write.  With ``test_seed``, only a test set drawn
    from that seed (its sentences still unseen in ``seed``'s train and dev)."""
    rng = random.Random(seed)
    train = sentences(2 * num_train, rng, set())
    dev = sentences(2 * num_dev, rng, set(train))
    test = sentences(2 * num_test, rng, set(train) | set(dev))
    plans = {"train": plan(train, "tr", rng, max_snr, held_out=False),
             "dev": plan(dev, "dv", rng, max_snr, held_out=False)}
    if test_seed is not None:
        rng = random.Random(test_seed)
        test = sentences(2 * num_test, rng, set(train) | set(dev))
        plans = {}
    plans[test_name] = plan(test, "te", rng, max_snr, held_out=True)
    return plans


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="where data/<set> dirs go")
    parser.add_argument("--wavdir", type=Path, required=True, help="where the audio goes")
    parser.add_argument("--num_train", type=int, default=1000, help="training mixtures")
    parser.add_argument("--num_dev", type=int, default=60, help="validation mixtures")
    parser.add_argument("--num_test", type=int, default=200, help="test mixtures")
    parser.add_argument("--fs", type=int, default=8000, help="sampling rate (Hz)")
    parser.add_argument("--mode", choices=MODES, default="min",
                        help="min: cut to the shorter source; max: pad it with silence")
    parser.add_argument("--max_snr", type=float, default=5.0,
                        help="largest level difference between the two sources (dB)")
    parser.add_argument("--seed", type=int, default=0,
                        help="a different seed gives a separately generated corpus")
    parser.add_argument("--test_seed", type=int, default=None,
                        help="write only a separately generated test set, with sentences "
                             "and voices from this seed (still unseen in --seed's train/dev)")
    parser.add_argument("--test_name", default="test", help="data dir name of the test set")
    parser.add_argument("--jobs", type=int, default=2,
                        help="synthesis processes (the audio depends on this number: see "
                             "espnet_mamba.corpora.espeak_engine)")
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    args = get_parser().parse_args(argv)
    for name in ("num_train", "num_dev", "num_test", "jobs"):
        if getattr(args, name) < 1:
            sys.exit(f"espeak_mix: --{name} must be >= 1, got {getattr(args, name)}")
    if args.max_snr < 0:
        sys.exit(f"espeak_mix: --max_snr must be >= 0, got {args.max_snr}")
    check_voices(TRAIN_VOICES + HELD_OUT_VOICES, "espeak_mix")
    plans = make_plans(args.num_train, args.num_dev, args.num_test, args.seed, args.max_snr,
                       args.test_seed, args.test_name)
    for name, mixtures in plans.items():
        voices = {s.voice for m in mixtures for s in m.sources}
        seed = args.seed if args.test_seed is None else args.test_seed
        hours = write_set(name, mixtures, args.out, args.wavdir, args.fs, args.mode, args.jobs,
                          synthesis_note(seed, sorted(voices)))
        print(f"{name}: {len(mixtures)} mixtures, {hours:.2f} h, {len(voices)} voices",
              flush=True)


if __name__ == "__main__":
    main()
