"""TTS scores: mel-cepstral distortion (MCD) against reference recordings, and the real-
time factor of synthesis from ``espnet2.bin.tts_inference`` logs.

Mel-cepstra are pysptk's ``sp2mc`` of the WORLD spectral envelope (pyworld: DIO +
StoneMask F0, CheapTrick), one frame per ``frame_period`` ms; order and all-pass constant
by sampling rate follow ESPnet's ``evaluate_mcd.py`` (:data:`MCEP_PARAMS`, e.g. 34 and
0.45 at 22.05 kHz).  Frames are aligned by librosa's DTW (Euclidean distance of c1..,
steps (1, 1), (0, 1), (1, 0)) and, per aligned frame pair, c0 (energy) excluded::

    MCD = 10 * sqrt(2) / ln(10) * sqrt(sum_{d>=1} (c[d] - c'[d]) ** 2)

averaged over the path.  (ESPnet's script analyses Hamming-windowed 1024-point frames
with ``pysptk.mcep`` and keeps c0; the WORLD envelope here does not depend on the
pitch harmonics, so two recordings of one sentence by one voice score close to 0.)
"""
import glob
import math
import os
import re
from typing import Dict, List, Optional, Tuple

import numpy as np

from espnet_mamba.data import DataError, read_mono, read_table

# sampling rate -> (order, alpha): ESPnet's evaluate_mcd.py choices
MCEP_PARAMS: Dict[int, Tuple[int, float]] = {
    16000: (23, 0.42),
    22050: (34, 0.45),
    24000: (34, 0.46),
    44100: (39, 0.53),
    48000: (39, 0.55),
}
MCD_CONSTANT = 10.0 * math.sqrt(2.0) / math.log(10.0)


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


def mel_cepstrum(wav: np.ndarray, fs: int, order: int, alpha: float,
                 frame_period: float = 5.0) -> np.ndarray:
    """Mel-cepstra of a mono waveform: (frames, order + 1)."""
    import pysptk
    import pyworld

    if wav.ndim != 1:
        raise ValueError(f"need a mono waveform (1-D); got shape {wav.shape}")
    x = np.ascontiguousarray(wav, dtype=np.float64)
    f0, times = pyworld.dio(x, fs, frame_period=frame_period)
    f0 = pyworld.stonemask(x, f0, times, fs)
    return pysptk.sp2mc(pyworld.cheaptrick(x, f0, times, fs), order, alpha)


def mcd_dtw(x: np.ndarray, y: np.ndarray) -> float:
    """Mean MCD (dB) over the DTW path aligning mel-cepstra x (T1, D) and y (T2, D)."""
    import librosa

    if len(x) == 0 or len(y) == 0:
        raise ValueError(f"cannot align an empty sequence ({len(x)} and {len(y)} frames)")
    _, path = librosa.sequence.dtw(x[:, 1:].T, y[:, 1:].T, metric="euclidean")
    diff = x[path[:, 0], 1:] - y[path[:, 1], 1:]
    return float((MCD_CONSTANT * np.sqrt((diff ** 2).sum(1))).mean())


def wav_mcd(synthesized: np.ndarray, reference: np.ndarray, fs: int,
            order: Optional[int] = None, alpha: Optional[float] = None,
            frame_period: float = 5.0) -> float:
    """MCD (dB, with DTW) between two mono waveforms at ``fs``."""
    order, alpha = mcep_params(fs, order, alpha)
    return mcd_dtw(mel_cepstrum(synthesized, fs, order, alpha, frame_period),
                   mel_cepstrum(reference, fs, order, alpha, frame_period))


def score_mcd(refs: Dict[str, str], syns: Dict[str, str], order: Optional[int] = None,
              alpha: Optional[float] = None, frame_period: float = 5.0
              ) -> Tuple[Dict[str, float], dict]:
    """MCD (dB) per reference utterance (``utt -> path`` tables) and a summary.

    Raises:
        DataError: a reference utterance without synthesized audio, unreadable or
            multi-channel audio, or a sampling-rate mismatch.
    """
    missing = sorted(set(refs) - set(syns))
    if missing:
        raise DataError(f"{len(missing)} reference utterance(s) have no synthesized audio, "
                        f"e.g. {missing[0]}")
    scores: Dict[str, float] = {}
    fs0 = None
    for utt in sorted(refs):
        ref, fs = read_mono(refs[utt], "reference", utt)
        syn, syn_fs = read_mono(syns[utt], "synthesized audio", utt)
        if syn_fs != fs or (fs0 is not None and fs != fs0):
            raise DataError(f"{utt}: sampling rates differ: {syns[utt]} is at {syn_fs} Hz, "
                            f"{refs[utt]} at {fs} Hz (first reference: {fs0 or fs} Hz)")
        fs0 = fs
        order, alpha = mcep_params(fs, order, alpha)
        scores[utt] = wav_mcd(syn, ref, fs, order, alpha, frame_period)
    values = np.array(list(scores.values()))
    summary = dict(utts=len(values), mcd_mean=float(values.mean()), mcd_std=float(values.std()),
                   fs=fs0, order=order, alpha=alpha, frame_period=frame_period)
    return scores, summary


SPEED = re.compile(r"inference speed = ([0-9.]+) (?:frames|points) / sec\.")
SIZE = re.compile(r"(\S+) \(size:\d+->(\d+)\)")


def synthesis_seconds(log_path: str) -> List[Tuple[str, Optional[float]]]:
    """(utterance, synthesis time in s) in decoding order, from a tts_inference log
    (its output size / its logged speed, model and vocoder together).  The time is None
    where the speed reads 0.0: ESPnet logs it to one decimal, so a (nearly) empty output
    leaves the time unknown.

    Raises:
        DataError: a speed line without the size line that follows it.
    """
    times: List[Tuple[str, Optional[float]]] = []
    speed: Optional[float] = None
    with open(log_path, encoding="utf-8") as f:
        for line in f:
            match = SPEED.search(line)
            if match:
                speed = float(match.group(1))
                continue
            match = SIZE.search(line)
            if match and speed is not None:
                times.append((match.group(1), int(match.group(2)) / speed if speed else None))
                speed = None
    if speed is not None:
        raise DataError(f"{log_path}: an 'inference speed' line has no size line after it")
    return times


def real_time_factor(set_dir: str) -> Optional[float]:
    """Synthesis time / duration of the synthesized audio (``wav.scp``) of one decoded
    set, or None without ``logs/tts_inference.*.log`` or without an utterance of known
    time and non-zero duration.  Each job's first utterance is left out when the job made
    more than one: it pays the one-off start-up costs."""
    import soundfile as sf

    logs = sorted(glob.glob(os.path.join(set_dir, "logs", "tts_inference.*.log")))
    if not logs:
        return None
    wavs = read_table(os.path.join(set_dir, "wav.scp"))
    jobs = [synthesis_seconds(path) for path in logs]
    missing = sorted(set(wavs) - {utt for job in jobs for utt, _ in job})
    if missing:
        raise DataError(f"{set_dir}: no synthesis time logged for {len(missing)} "
                        f"utterance(s), e.g. {missing[0]}")
    times = {utt: t for job in jobs for utt, t in (job[1:] if len(job) > 1 else job)
             if t is not None}
    duration = sum(sf.info(wavs[utt]).duration for utt in times)
    return sum(times.values()) / duration if duration > 0 else None
