"""Two-speaker mixtures (wsj0-2mix style) of espeak-ng speech, as data dirs.

Each mixture sums two different sentences spoken by two *different* voices, each at a
random speed (150-200 wpm) and pitch.  The sources are brought to the same RMS level,
then set apart by a random relative level of 0 to ``max_snr`` dB (the first source
``+snr/2`` dB, the second ``-snr/2`` dB, as wsj0-2mix's 0-2.5 dB each); mode ``min`` cuts
both to the shorter one, ``max`` pads the shorter with silence.  Mixture and references
are scaled together to a peak of 0.9 and written as 16-bit PCM; the mixture is exactly
the sum of the written references.

Train and dev pair the training voices of :mod:`espnet_mamba.corpora.espeak_corpus`
(unseen sentences in dev); every test mixture has at least one of the held-out voices,
and test sentences occur in neither train nor dev.
"""
import random
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import soundfile as sf

from espnet_mamba.corpora.espeak_corpus import HELD_OUT_VOICES, TRAIN_VOICES, sentences, speak
from espnet_mamba.corpora.espeak_engine import map_in_fresh_processes
from espnet_mamba.data import atomic_dir, read_mono, spk2utt, write_table

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
            signals.append(read_mono(str(path))[0])
    mixed, refs = mix(signals, mixture.snr, mode)
    for name, audio in (("mix", mixed), ("s1", refs[0]), ("s2", refs[1])):
        sf.write(wavdir / name / f"{mixture.utt}.wav", audio, fs, subtype="PCM_16")
    return len(mixed) / fs


# One mixture's row of the tables: (utt, ((speaker 1, text 1), (speaker 2, text 2))).
Row = Tuple[str, Sequence[Tuple[str, str]]]


def tables(rows: Sequence[Row], wavdir: Path) -> Dict[str, Dict[str, str]]:
    """The data dir's tables: ``wav.scp`` (mixture), ``spk{1,2}.scp`` (audio in
    ``wavdir/{mix,s1,s2}/<utt>.wav``), ``utt2spk`` (the speaker pair), ``spk2utt`` and
    ``text_spk{1,2}``."""
    out: Dict[str, Dict[str, str]] = {name: {} for name in
                                      ("wav.scp", "spk1.scp", "spk2.scp", "utt2spk",
                                       "text_spk1", "text_spk2")}
    for utt, sources in rows:
        out["wav.scp"][utt] = f"{wavdir / 'mix' / utt}.wav"
        out["utt2spk"][utt] = "_".join(speaker for speaker, _ in sources)
        for i, (_, text) in enumerate(sources, 1):
            out[f"spk{i}.scp"][utt] = f"{wavdir / f's{i}' / utt}.wav"
            out[f"text_spk{i}"][utt] = text
    out["spk2utt"] = spk2utt(out["utt2spk"])
    return out


def write_tables(out: Path, name: str, rows: Sequence[Row], audio_dir: Path,
                 note: str) -> None:
    """The data dir ``out/name`` of :func:`tables` and a ``synthesis`` file holding
    ``note``, appearing only when complete."""
    with atomic_dir(out / name) as tmp:
        for table, entries in tables(rows, audio_dir).items():
            write_table(str(tmp / table), entries)
        (tmp / "synthesis").write_text(note)


def write_set(name: str, mixtures: Sequence[Mixture], out: Path, wavdir: Path, fs: int,
              mode: str, jobs: int, note: str = "") -> float:
    """Synthesize ``mixtures`` into the data dir ``out/name`` (audio in
    ``wavdir/name/{mix,s1,s2}/``, ``note`` in its ``synthesis`` file); returns hours.
    The data dir appears only when complete."""
    audio_dir = (wavdir / name).resolve()
    for sub in ("mix", "s1", "s2"):
        (audio_dir / sub).mkdir(parents=True, exist_ok=True)
    seconds = map_in_fresh_processes(partial(synthesize, wavdir=audio_dir, fs=fs, mode=mode),
                                     mixtures, jobs)
    rows = [(m.utt, [(s.speaker, s.text) for s in m.sources]) for m in mixtures]
    write_tables(out, name, rows, audio_dir, note)
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
