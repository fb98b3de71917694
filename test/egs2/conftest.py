"""Shared fixtures of the recipe tests: the environment recipes run in, tiny data dirs."""
import os
import sys
from pathlib import Path
from typing import Callable, Dict, Sequence, Tuple

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[2]

# (utterance id, transcript, sampling rate, seconds)
Utt = Tuple[str, str, int, float]


@pytest.fixture(scope="session")
def recipe_env() -> Dict[str, str]:
    """Environment for recipe scripts: this Python first on PATH (so ``python3`` is it)
    and the working tree's espnet_mamba importable.  Copy it to change it."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    return env


def write_data_dir(root: Path, utts: Sequence[Utt]) -> Path:
    """A Kaldi-style data dir with one tone wav file per utterance (speaker = id prefix)."""
    (root / "wav").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(utts))
    tables: Dict[str, list] = {"wav.scp": [], "text": [], "utt2spk": []}
    for i, (utt, text, sr, seconds) in enumerate(utts):
        t = np.arange(int(sr * seconds)) / sr
        audio = 0.3 * np.sin(2 * np.pi * (150 + 40 * i) * t) + 0.01 * rng.standard_normal(t.size)
        path = root / "wav" / f"{utt}.wav"
        sf.write(path, audio.astype(np.float32), sr)
        tables["wav.scp"].append(f"{utt} {path}")
        tables["text"].append(f"{utt} {text}")
        tables["utt2spk"].append(f"{utt} {utt.split('-')[0]}")
    for name, lines in tables.items():
        (root / name).write_text("\n".join(sorted(lines)) + "\n")
    return root


@pytest.fixture(scope="session")
def make_data_dir() -> Callable[[Path, Sequence[Utt]], Path]:
    return write_data_dir
