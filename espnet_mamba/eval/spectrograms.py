"""Log-mel spectrograms of the same utterances from several sources, side by side.

One PNG with a column per utterance and a row per source (the recordings, then each
synthesizer's ``wav.scp``), so a reader can see whether a model's speech has the
reference's formants, pauses and length; each panel's title can carry what the ASR
judge heard in it.
"""
import textwrap
from pathlib import Path
from typing import Dict, Mapping, Optional, Sequence

import librosa
import numpy as np

from espnet_mamba.data import DataError, read_mono, read_table


def log_mel(wav: np.ndarray, fs: int, n_mels: int = 80, n_fft: int = 1024,
            hop: int = 256) -> np.ndarray:
    """``(n_mels, frames)`` log10 mel power (floored at 1e-10) of a mono waveform."""
    mel = librosa.feature.melspectrogram(y=wav.astype(np.float32), sr=fs, n_fft=n_fft,
                                         hop_length=hop, n_mels=n_mels, fmax=fs / 2)
    return np.log10(np.maximum(mel, 1e-10))


def plot(sources: Mapping[str, Mapping[str, str]], utts: Sequence[str],
         texts: Mapping[str, str], path: Path,
         heard: Optional[Mapping[str, Mapping[str, str]]] = None) -> None:
    """Write the grid of ``utts`` (columns) by ``sources`` (rows) to the PNG ``path``.

    Args:
        sources: Row label -> utterance id -> audio file (a ``wav.scp`` table).
        utts: The utterances to show, in order.
        texts: Utterance id -> its sentence, the column heading.
        path: The PNG to write (parent dirs are made).
        heard: Row label -> utterance id -> the judge's transcript, shown per panel.

    Raises:
        DataError: an utterance missing from a source or from ``texts``, an unreadable
            file, or sources of different sampling rates.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    heard = heard or {}
    for utt in utts:
        if utt not in texts:
            raise DataError(f"{utt}: no sentence for it in the text table")
        for label, table in sources.items():
            if utt not in table:
                raise DataError(f"{utt}: not in the wav.scp of '{label}'")
    fig, axes = plt.subplots(len(sources), len(utts), squeeze=False,
                             figsize=(4.2 * len(utts), 2.3 * len(sources) + 0.6))
    try:
        rates = set()
        for col, utt in enumerate(utts):
            for row, (label, table) in enumerate(sources.items()):
                wav, fs = read_mono(table[utt], what=f"audio of '{label}'", utt=utt)
                rates.add(fs)
                if len(rates) > 1:
                    raise DataError(f"{utt}: '{label}' is at {fs} Hz, other sources at "
                                    f"{sorted(rates - {fs})} Hz")
                ax = axes[row][col]
                ax.imshow(log_mel(wav, fs), origin="lower", aspect="auto", cmap="magma",
                          extent=(0.0, len(wav) / fs, 0, 80), vmin=-6, vmax=2)
                title = label
                if utt in heard.get(label, {}):
                    title += ": " + textwrap.shorten(f'heard "{heard[label][utt]}"', 70)
                if row == 0:  # the column's heading: the sentence
                    title = "\n".join(textwrap.wrap(f"{utt}: {texts[utt]}", 70) + [title])
                ax.set_title(title, fontsize=7, loc="left")
                ax.set_ylabel("mel bin", fontsize=7)
                ax.tick_params(labelsize=6)
            axes[-1][col].set_xlabel("seconds", fontsize=7)
        fig.tight_layout()
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)


def read_sources(specs: Sequence[str], what: str) -> Dict[str, Dict[str, str]]:
    """``LABEL=TABLE`` arguments -> label -> the table; errors name the argument."""
    out: Dict[str, Dict[str, str]] = {}
    for spec in specs:
        label, sep, table = spec.partition("=")
        if not sep or not label or not table:
            raise DataError(f"'{spec}': give LABEL={what}")
        if label in out:
            raise DataError(f"'{spec}': label '{label}' given twice")
        out[label] = read_table(table, what)
    return out
