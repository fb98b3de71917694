"""Tiny generated data for tests (written into a temporary folder): ASR sets, a WordNet
database, a synthetic corpus of given voices."""
import random
from pathlib import Path
from typing import Dict, Sequence

import numpy as np
import soundfile as sf


def write_tiny_asr_set(root: Path, n_utts: int = 4, sr: int = 16000) -> Dict[str, Path]:
    """Write ``n_utts`` tone utterances with Kaldi-style wav.scp/text and shape files.

    Returns the paths: wav_scp, text, speech_shape, text_shape, token_list.
    """
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    words = ["abc", "bca", "cab", "acb", "bac", "cba"]
    wav_scp, text, speech_shape, text_shape = [], [], [], []
    for i in range(n_utts):
        utt = f"utt{i:03d}"
        n = int(sr * (0.4 + 0.1 * i))
        t = np.arange(n) / sr
        audio = 0.3 * np.sin(2 * np.pi * (200 + 50 * i) * t) + 0.01 * rng.standard_normal(n)
        path = root / f"{utt}.wav"
        sf.write(path, audio.astype(np.float32), sr)
        transcript = words[i % len(words)]
        wav_scp.append(f"{utt} {path}")
        text.append(f"{utt} {transcript}")
        speech_shape.append(f"{utt} {n}")
        text_shape.append(f"{utt} {len(transcript)}")
    out = {}
    for name, lines in (("wav_scp", wav_scp), ("text", text),
                        ("speech_shape", speech_shape), ("text_shape", text_shape),
                        ("token_list", ["<blank>", "<unk>", "a", "b", "c", "<sos/eos>"])):
        out[name] = root / name
        out[name].write_text("\n".join(lines) + "\n")
    return out


WORDNET_WORDS = ("apple river stone quiet garden yellow window market early winter bright "
                 "letter silver forest little summer").split()


def wordnet_fixture(root: Path, count: int = 40) -> Path:
    """data.noun with ``count`` distinct six-word usage examples; the other parts empty."""
    rng = random.Random(0)
    examples = {" ".join(rng.choice(WORDNET_WORDS) for _ in range(6)) for _ in range(count * 2)}
    lines = [f'{i:08d} 03 n 01 thing 0 | a gloss; "{text}"\n'
             for i, text in enumerate(sorted(examples)[:count])]
    root.mkdir()
    (root / "data.noun").write_text("  1 licence header\n" + "".join(lines))
    for part in ("verb", "adj", "adv"):
        (root / f"data.{part}").write_text("  1 licence header\n")
    return root


def small_corpus(root: Path, voices: Sequence[str], held_out_voices: Sequence[str],
                 num_train: int = 4) -> Path:
    """``make_espeak_corpus`` with these voices into ``root/data`` (audio in ``root/wav``):
    ``num_train`` training, 1 dev and 2 test sentences, one process; returns the data
    folder."""
    from espnet_mamba.bin import make_espeak_corpus

    make_espeak_corpus.main(["--out", str(root / "data"), "--wavdir", str(root / "wav"),
                             "--num_train", str(num_train), "--num_dev", "1", "--num_test", "2",
                             "--voices", *voices, "--held_out_voices", *held_out_voices,
                             "--jobs", "1"])
    return root / "data"
