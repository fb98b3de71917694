"""Mel-cepstra of speech: the WORLD spectral envelope, frequency-warped by an all-pass.

A mel-cepstrum ``c`` of order ``M`` describes the log amplitude spectrum on a warped
frequency axis::

    log |X(e^jw)| = sum_{m=0}^{M} c[m] cos(m * beta(w))

where ``beta`` is the phase of the first-order all-pass ``(z^-1 - alpha) / (1 - alpha
z^-1)``; ``alpha`` of about 0.42 at 16 kHz makes ``beta`` follow the mel scale.  This is
SPTK's ``sp2mc``: the (one-sided) real cepstrum of the log envelope, warped by SPTK's
``freqt`` recursion, written here as one matrix per (size, order, alpha).
"""
from functools import lru_cache
from typing import Dict, Optional, Tuple

import numpy as np
import pyworld

# sampling rate -> (order, alpha): the usual choices for MCD (alpha closest to the mel scale)
MCEP_PARAMS: Dict[int, Tuple[int, float]] = {
    16000: (23, 0.42),
    22050: (34, 0.455),
    24000: (34, 0.46),
    44100: (39, 0.53),
    48000: (39, 0.55),
}


def mcep_params(fs: int, order: Optional[int] = None,
                alpha: Optional[float] = None) -> Tuple[int, float]:
    """``(order, alpha)`` for ``fs``: the given values, else those of :data:`MCEP_PARAMS`.

    Raises:
        ValueError: a missing value for a sampling rate without defaults, or a bad value.
    """
    if (order is None or alpha is None) and fs not in MCEP_PARAMS:
        raise ValueError(f"no default mel-cepstrum order/alpha for {fs} Hz (known: "
                         f"{sorted(MCEP_PARAMS)}); give both order and alpha")
    default_order, default_alpha = MCEP_PARAMS.get(fs, (0, 0.0))
    order = default_order if order is None else order
    alpha = default_alpha if alpha is None else alpha
    if order < 1 or not -1.0 < alpha < 1.0:
        raise ValueError(f"need order >= 1 and -1 < alpha < 1; got {order}, {alpha}")
    return order, alpha


@lru_cache(maxsize=8)
def warp_matrix(n_in: int, order: int, alpha: float) -> np.ndarray:
    """SPTK's ``freqt`` as a matrix: (order + 1, n_in), mapping a cepstrum of ``n_in``
    coefficients to the all-pass-warped cepstrum of ``order + 1`` coefficients."""
    beta = 1.0 - alpha * alpha
    basis = np.eye(n_in)  # column k: the response to the k-th unit cepstrum
    g = np.zeros((order + 1, n_in))
    for i in range(n_in - 1, -1, -1):
        d = g.copy()
        g[0] = basis[i] + alpha * d[0]
        if order >= 1:
            g[1] = beta * d[0] + alpha * d[1]
        for j in range(2, order + 1):
            g[j] = d[j - 1] + alpha * (d[j] - g[j - 1])
    return g


def sp2mc(sp: np.ndarray, order: int, alpha: float) -> np.ndarray:
    """Mel-cepstra of power spectral envelopes.

    Args:
        sp: (frames, n_fft // 2 + 1) power spectra (positive).
        order: Mel-cepstrum order M (M + 1 coefficients, c0 included).
        alpha: All-pass constant.

    Returns:
        (frames, order + 1) mel-cepstra.
    """
    # irfft of the log power is twice the cepstrum of the log amplitude: the one-sided
    # cepstrum, once c0 and the Nyquist term are halved
    cep = np.fft.irfft(np.log(sp), axis=-1)[:, : sp.shape[1]]
    cep[:, 0] /= 2.0
    cep[:, -1] /= 2.0
    return cep @ warp_matrix(sp.shape[1], order, float(alpha)).T


def world_envelope(wav: np.ndarray, fs: int, frame_period: float = 5.0) -> np.ndarray:
    """WORLD's spectral envelope (DIO + StoneMask F0, CheapTrick): (frames, bins)."""
    x = np.ascontiguousarray(wav, dtype=np.float64)
    f0, times = pyworld.dio(x, fs, frame_period=frame_period)
    f0 = pyworld.stonemask(x, f0, times, fs)
    return pyworld.cheaptrick(x, f0, times, fs)


def mel_cepstrum(wav: np.ndarray, fs: int, order: Optional[int] = None,
                 alpha: Optional[float] = None, frame_period: float = 5.0) -> np.ndarray:
    """Mel-cepstra of a mono waveform: (frames, order + 1), one frame per ``frame_period``
    milliseconds; ``order``/``alpha`` default by ``fs`` (:data:`MCEP_PARAMS`)."""
    if wav.ndim != 1:
        raise ValueError(f"need a mono waveform (1-D); got shape {wav.shape}")
    order, alpha = mcep_params(fs, order, alpha)
    return sp2mc(world_envelope(wav, fs, frame_period), order, alpha)
