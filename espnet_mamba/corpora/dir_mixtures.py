"""Two-speaker mixtures of the utterances of a single-speaker data dir.

A separation corpus with the text, voices and engines of any corpus here, without
speaking it again: e.g. ``egs2/wordnet_en/asr1``'s open-vocabulary sets (WordNet
sentences, espeak-ng and Festival voices) become 8 kHz mixtures whose test set keeps
the unseen sentences and the held-out voices of its source.  :func:`pair` pairs utterances of
different speakers, every utterance at most once; :func:`write_set` resamples both to ``fs`` and mixes them as
:func:`espnet_mamba.corpora.mixtures.mix` does (equal RMS, then 0 to ``max_snr`` dB
apart, ``min`` or ``max`` length, peak 0.9, the mixture exactly the sum of the written
references).
"""
import random
from fractions import Fraction
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import soundfile as sf

from espnet_mamba.corpora.mixtures import mix, write_tables
from espnet_mamba.data import DataError, read_mono, read_table
from espnet_mamba.data.format import change_rate

# (utt, first source utt, second source utt, level of the first above the second in dB)
Pairing = Tuple[str, str, str, float]


def pair(utt2spk: Dict[str, str], rng: random.Random, prefix: str, max_snr: float,
         count: Optional[int] = None) -> List[Pairing]:
    """Up to ``count`` (all: None) mixtures of two utterances of different speakers,
    each utterance in one mixture at most: as many as the speakers allow (an utterance
    of the speaker with the most left, each time, with a random one of the others; the
    two in random order).

    Raises:
        DataError: the data dir has a single speaker.
    """
    left: Dict[str, List[str]] = {}
    for utt in sorted(utt2spk):
        left.setdefault(utt2spk[utt], []).append(utt)
    if len(left) < 2:
        raise DataError("need utterances of at least two speakers to mix")
    for utts in left.values():
        rng.shuffle(utts)
    out: List[Pairing] = []
    while count is None or len(out) < count:
        speakers = sorted(left, key=lambda s: -len(left[s]))  # stable: ties by name
        others = [s for s in speakers[1:] if left[s]]
        if not left[speakers[0]] or not others:
            break
        other = rng.choices(others, weights=[len(left[s]) for s in others])[0]
        sources = [left[speakers[0]].pop(), left[other].pop()]
        rng.shuffle(sources)
        first, second = sources
        utt = f"{utt2spk[first]}_{utt2spk[second]}_{prefix}{len(out):05d}"
        out.append((utt, first, second, rng.uniform(0.0, max_snr)))
    return out


def _read(path: str, utt: str, fs: int) -> np.ndarray:
    audio, rate = read_mono(path, "source audio", utt)
    return change_rate(audio, Fraction(fs, rate))


def write_set(src_dir: Path, name: str, pairings: Sequence[Pairing], out: Path,
              wavdir: Path, fs: int, mode: str, note: str) -> float:
    """Mix ``pairings`` of the data dir ``src_dir`` into ``out/name`` (tables of
    :func:`espnet_mamba.corpora.mixtures.tables`, ``note`` in its ``synthesis`` file;
    audio in ``wavdir/name/{mix,s1,s2}/``); returns hours.

    Raises:
        DataError: a missing table or unreadable audio of ``src_dir``, or a silent source.
    """
    wav_scp = read_table(str(src_dir / "wav.scp"), "source wav.scp")
    text = read_table(str(src_dir / "text"), "source text")
    utt2spk = read_table(str(src_dir / "utt2spk"), "source utt2spk")
    audio_dir = (wavdir / name).resolve()
    for sub in ("mix", "s1", "s2"):
        (audio_dir / sub).mkdir(parents=True, exist_ok=True)
    seconds = 0.0
    for utt, first, second, snr in pairings:
        try:
            mixed, refs = mix([_read(wav_scp[u], u, fs) for u in (first, second)], snr, mode)
        except ValueError as exc:
            raise DataError(f"{utt} ({first} + {second}): {exc}") from None
        for sub, audio in (("mix", mixed), ("s1", refs[0]), ("s2", refs[1])):
            sf.write(audio_dir / sub / f"{utt}.wav", audio, fs, subtype="PCM_16")
        seconds += len(mixed) / fs
    rows = [(utt, [(utt2spk[u], text[u]) for u in (first, second)])
            for utt, first, second, _ in pairings]
    write_tables(out, name, rows, audio_dir, note)
    return seconds / 3600
