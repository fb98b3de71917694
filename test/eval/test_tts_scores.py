"""Mel-cepstra, DTW and mel-cepstral distortion (eval.tts) against independent numbers."""
import subprocess
import sys

import numpy as np
import pysptk
import pytest

from espnet_mamba.eval.tts import mcd_dtw, mcep_params, mel_cepstrum, wav_mcd


@pytest.mark.parametrize("alpha", [0.0, 0.42, 0.45])
def test_sp2mc_recovers_a_warped_cosine_series(alpha):
    """log|X(w)| = sum_m c[m] cos(m beta(w)), beta the all-pass phase: sp2mc gives c back."""
    w = np.linspace(0.0, np.pi, 513)
    beta = w + 2.0 * np.arctan(alpha * np.sin(w) / (1.0 - alpha * np.cos(w)))
    c = np.array([0.5, 1.0, -0.6, 0.3, 0.2, -0.1, 0.05])
    log_amplitude = np.cos(np.outer(beta, np.arange(len(c)))) @ c
    mc = pysptk.sp2mc(np.exp(2.0 * log_amplitude)[None], order=10, alpha=alpha)
    np.testing.assert_allclose(mc[0, : len(c)], c, atol=1e-9)
    np.testing.assert_allclose(mc[0, len(c):], 0.0, atol=1e-9)


def test_mcep_params_by_sampling_rate():
    assert mcep_params(16000) == (23, 0.42)
    assert mcep_params(22050) == (34, 0.45)  # ESPnet's evaluate_mcd.py
    assert mcep_params(8000, order=12, alpha=0.31) == (12, 0.31)
    with pytest.raises(ValueError, match="no default mel-cepstrum order/alpha for 8000 Hz"):
        mcep_params(8000)
    with pytest.raises(ValueError, match="-1 < alpha < 1"):
        mcep_params(16000, alpha=1.5)


def vowel(fs: int, seconds: float, f0: float, seed: int = 0) -> np.ndarray:
    """A harmonic signal with a slow amplitude modulation and a little noise."""
    t = np.arange(int(fs * seconds)) / fs
    x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 20))
    x = x * (1 + 0.5 * np.sin(2 * np.pi * 2 * t))
    x = x + 0.01 * np.random.default_rng(seed).standard_normal(t.size)
    return 0.5 * x / np.abs(x).max()


def test_mcd_of_a_signal_with_itself_is_zero_and_grows_with_noise():
    x = vowel(16000, 0.6, 150.0)
    assert wav_mcd(x, x, 16000) == 0.0
    mc = mel_cepstrum(x, 16000, *mcep_params(16000))
    assert mc.shape == (121, 24)  # 5 ms frames, order 23 at 16 kHz
    noisy = x + 0.05 * np.random.default_rng(1).standard_normal(x.size)
    assert wav_mcd(noisy, x, 16000) > 3.0


def test_hand_computed_mcd_excludes_c0():
    x = np.array([[5.0, 0.1, 0.2], [1.0, 0.0, 0.0]])
    y = np.array([[0.0, 0.4, 0.6], [9.0, 0.6, 0.8]])
    # the diagonal path is the cheapest (0.5 + 1.0 against 0.5 + 0.72 + 1.0);
    # frame 1: sqrt(0.3^2 + 0.4^2) = 0.5, frame 2: sqrt(0.6^2 + 0.8^2) = 1.0;
    # 10 sqrt(2) / ln 10 = 6.141851: MCD (3.0709255 + 6.141851) / 2
    assert mcd_dtw(x, y) == pytest.approx(4.6063883, rel=1e-6)


def test_dtw_undoes_a_time_stretch_that_frame_by_frame_compare_does_not():
    rng = np.random.default_rng(0)
    x = np.cumsum(rng.standard_normal((40, 13)), axis=0)  # a smooth trajectory
    # stretch: frames repeated 1-3 times
    y = np.repeat(x, rng.integers(1, 4, len(x)), axis=0)
    assert len(y) > len(x)
    assert mcd_dtw(y, x) == pytest.approx(0.0, abs=1e-9)
    assert mcd_dtw(x, y[: len(x)]) > 1.0


def test_empty_sequence_is_an_error():
    with pytest.raises(ValueError, match="empty sequence"):
        mcd_dtw(np.zeros((0, 3)), np.zeros((2, 3)))


def test_scoring_imports_no_model_code():
    """Scoring a wav needs neither torch nor ESPnet's TTS stack."""
    code = ("import sys, numpy as np; from espnet_mamba.eval import tts; "
            "x = np.sin(np.arange(8000) / 7.0); tts.wav_mcd(x, x, 16000); "
            "print(sorted(m for m in ('torch', 'espnet2', 'espnet_mamba.tts') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
