"""Noisy, reverberant copies of a data dir, made once with a fixed seed (for dev/test
sets; training sets get the same corruption on the fly from ESPnet's ``enh``
preprocessor with the same RIR and noise lists).

Each utterance is convolved with a random RIR and a random excerpt of a random noise
is added at a random SNR (uniform in ``snr_range`` dB), as ESPnet's preprocessor does
in training (:func:`corrupt`; powers over the whole signal instead of its non-silent
part).  The output dir has ``wav.scp`` (the noisy audio), ``spk1.scp`` (the target:
speech with early reflections), ``noise1.scp`` (the added noise) and the input's
``utt2spk``, ``spk2utt`` and ``text``.
"""
import shutil
from pathlib import Path
from typing import Dict, Sequence

import numpy as np
import soundfile as sf
from scipy.signal import convolve

from espnet_mamba.data import DataError, atomic_dir, read_mono, read_table, write_table


def corrupt(speech: np.ndarray, rir: np.ndarray, noise: np.ndarray, snr_db: float,
            rng: np.random.Generator, rate: int) -> Dict[str, np.ndarray]:
    """Corrupt ``speech`` as ESPnet's ``enh`` preprocessor does in training.

    Returns ``mix``: ``speech`` reverberated by ``rir`` (cut to its length, rescaled to
    its power) plus ``noise`` (a random excerpt, repeated to length) ``snr_db`` below it;
    ``target``: the speech with the RIR's first 50 ms after the direct path (the
    preprocessor's target), rescaled to the speech's power; ``noise``: the added noise.

    Raises:
        DataError: a silent noise.
    """
    power = np.mean(speech ** 2)

    def reverberate(response: np.ndarray) -> np.ndarray:
        out = convolve(speech, response, mode="full")[:len(speech)]
        return out * np.sqrt(power / max(np.mean(out ** 2), 1e-20))

    reverberant = reverberate(rir)
    target = reverberate(rir[:int(np.argmax(rir)) + rate * 50 // 1000])
    reps = -(-len(speech) // len(noise)) + 1
    start = int(rng.integers(len(noise)))
    excerpt = np.tile(noise, reps)[start:start + len(speech)]
    noise_power = np.mean(excerpt ** 2)
    if noise_power == 0:
        raise DataError("a noise file is silent")
    scaled = excerpt * np.sqrt(power / (noise_power * 10 ** (snr_db / 10)))
    return {"mix": reverberant + scaled, "target": target, "noise": scaled}


def simulate(src_dir: Path, out_dir: Path, rir_scp: Path, noise_scp: Path,
             snr_range: Sequence[float], wavdir: Path, seed: int = 0) -> None:
    """Write the noisy copy of ``src_dir`` (see the module docstring); first channel of
    multi-channel files.

    Raises:
        DataError: missing tables or audio, no RIR or noise, RIRs or noises at another
            rate than the speech, a bad SNR range.
    """
    wav_scp = read_table(str(src_dir / "wav.scp"))
    rirs = list(read_table(str(rir_scp)).values())
    noises = list(read_table(str(noise_scp)).values())
    if not rirs or not noises:
        raise DataError(f"no RIR in {rir_scp} or no noise in {noise_scp}")
    low, high = snr_range
    if low > high:
        raise DataError(f"--snr_range must be LOW HIGH with LOW <= HIGH; got {low} {high}")
    rng = np.random.default_rng(seed)
    wavdir.mkdir(parents=True, exist_ok=True)
    tables: Dict[str, Dict[str, str]] = {"wav.scp": {}, "spk1.scp": {}, "noise1.scp": {}}
    for utt, path in sorted(wav_scp.items()):
        speech, rate = read_mono(path, "speech", utt, channel=0)
        rir, _ = read_mono(rirs[rng.integers(len(rirs))], "RIR", utt, rate, channel=0)
        noise, _ = read_mono(noises[rng.integers(len(noises))], "noise", utt, rate, channel=0)
        out = corrupt(speech, rir, noise, float(rng.uniform(low, high)), rng, rate)
        peak = max(max(np.abs(audio).max() for audio in out.values()), 1e-9)
        scale = min(1.0, 0.99 / peak)  # no clipping in 16-bit files; all scaled alike
        for name, table in (("mix", "wav.scp"), ("target", "spk1.scp"), ("noise", "noise1.scp")):
            path = wavdir / f"{utt}_{name}.wav"
            sf.write(path, (out[name] * scale).astype(np.float32), rate, subtype="PCM_16")
            tables[table][utt] = str(path.resolve())
    with atomic_dir(out_dir) as tmp:
        for name, table in tables.items():
            write_table(str(tmp / name), table)
        for name in ("utt2spk", "spk2utt", "text"):
            if (src_dir / name).is_file():
                shutil.copy(src_dir / name, tmp / name)
