"""Mel-cepstral distortion (MCD) in dB, frame by frame or after DTW alignment.

Per frame, for mel-cepstra without c0 (energy)::

    MCD = 10 * sqrt(2) / ln(10) * sqrt(sum_{d>=1} (c[d] - c'[d]) ** 2)

averaged over the aligned frame pairs.
"""
import math
from typing import Optional

import numpy as np

from espnet_mamba.tts.dtw import dtw
from espnet_mamba.tts.mel_cepstrum import mel_cepstrum

MCD_CONSTANT = 10.0 * math.sqrt(2.0) / math.log(10.0)


def frame_mcd(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """MCD of each frame pair of x, y (T, order + 1), c0 excluded: (T,) in dB."""
    if x.shape != y.shape:
        raise ValueError(f"frame-by-frame MCD needs equal shapes; got {x.shape}, {y.shape}")
    return MCD_CONSTANT * np.sqrt(((x[:, 1:] - y[:, 1:]) ** 2).sum(1))


def mcd_dtw(x: np.ndarray, y: np.ndarray) -> float:
    """Mean MCD (dB) over the DTW path aligning mel-cepstra x (T1, D) and y (T2, D);
    the alignment uses c1.. (c0 excluded)."""
    _, path = dtw(x[:, 1:], y[:, 1:])
    return float(frame_mcd(x[path[:, 0]], y[path[:, 1]]).mean())


def wav_mcd(synthesized: np.ndarray, reference: np.ndarray, fs: int,
            order: Optional[int] = None, alpha: Optional[float] = None,
            frame_period: float = 5.0) -> float:
    """MCD (dB, with DTW) between two mono waveforms at ``fs``; ``order``/``alpha``
    default by ``fs`` (see :mod:`espnet_mamba.tts.mel_cepstrum`)."""
    return mcd_dtw(mel_cepstrum(synthesized, fs, order, alpha, frame_period),
                   mel_cepstrum(reference, fs, order, alpha, frame_period))
