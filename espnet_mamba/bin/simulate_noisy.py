"""Noisy, reverberant copies of a data dir, made once with a fixed seed (for dev/test
sets; training sets get the same corruption on the fly from ESPnet's ``enh``
preprocessor with the same RIR and noise lists).

    python -m espnet_mamba.bin.simulate_noisy data/test data/test_noisy \
        --rir_scp data/rirs.scp --noise_scp data/noises.scp --snr_range 5 15 \
        --wavdir downloads/noisy --seed 0

Each utterance is convolved with a random RIR and a random excerpt of a random noise
is added at a random SNR (uniform in ``--snr_range`` dB), as ESPnet's preprocessor
does in training (:func:`corrupt`; powers over the whole signal instead of its
non-silent part).  The output dir has ``wav.scp`` (the noisy audio), ``spk1.scp`` (the
target: speech with early reflections), ``noise1.scp`` (the added noise) and the
input's ``utt2spk``, ``spk2utt`` and ``text``.
"""
import argparse
import shutil
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
import soundfile as sf
from scipy.signal import convolve

from espnet_mamba.bin.format_data_dir import DataError, read_table, write_table


def read_mono(path: str, rate: Optional[int] = None) -> Tuple[np.ndarray, int]:
    """Mono float64 audio of ``path`` and its rate; ``rate``: the rate it must have."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"audio file not found: {path}")
    audio, fs = sf.read(path, dtype="float64", always_2d=True)
    if rate is not None and fs != rate:
        raise ValueError(f"{path} is at {fs} Hz, but the speech is at {rate} Hz; resample "
                         f"the RIRs and noises to {rate} Hz")
    return audio[:, 0], fs


def corrupt(speech: np.ndarray, rir: np.ndarray, noise: np.ndarray, snr_db: float,
            rng: np.random.Generator, rate: int) -> Dict[str, np.ndarray]:
    """Corrupt ``speech`` as ESPnet's ``enh`` preprocessor does in training.

    Returns ``mix``: ``speech`` reverberated by ``rir`` (cut to its length, rescaled to
    its power) plus ``noise`` (a random excerpt, repeated to length) ``snr_db`` below it;
    ``target``: the speech with the RIR's first 50 ms after the direct path (the
    preprocessor's target), rescaled to the speech's power; ``noise``: the added noise.
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
        raise ValueError("a noise file is silent")
    scaled = excerpt * np.sqrt(power / (noise_power * 10 ** (snr_db / 10)))
    return {"mix": reverberant + scaled, "target": target, "noise": scaled}


def simulate(src_dir: Path, out_dir: Path, rir_scp: Path, noise_scp: Path,
             snr_range: List[float], wavdir: Path, seed: int = 0) -> None:
    """Write the noisy copy of ``src_dir`` (see the module docstring)."""
    wav_scp = read_table(str(src_dir / "wav.scp"))
    rirs = list(read_table(str(rir_scp)).values())
    noises = list(read_table(str(noise_scp)).values())
    if not rirs or not noises:
        raise ValueError(f"no RIR in {rir_scp} or no noise in {noise_scp}")
    low, high = snr_range
    if low > high:
        raise ValueError(f"--snr_range must be LOW HIGH with LOW <= HIGH; got {low} {high}")
    rng = np.random.default_rng(seed)
    wavdir.mkdir(parents=True, exist_ok=True)
    tables: Dict[str, Dict[str, str]] = {"wav.scp": {}, "spk1.scp": {}, "noise1.scp": {}}
    for utt, path in sorted(wav_scp.items()):
        speech, rate = read_mono(path)
        rir, _ = read_mono(rirs[rng.integers(len(rirs))], rate)
        noise, _ = read_mono(noises[rng.integers(len(noises))], rate)
        out = corrupt(speech, rir, noise, float(rng.uniform(low, high)), rng, rate)
        peak = max(max(np.abs(audio).max() for audio in out.values()), 1e-9)
        scale = min(1.0, 0.99 / peak)  # no clipping in 16-bit files; all scaled alike
        for name, table in (("mix", "wav.scp"), ("target", "spk1.scp"), ("noise", "noise1.scp")):
            path = wavdir / f"{utt}_{name}.wav"
            sf.write(path, (out[name] * scale).astype(np.float32), rate, subtype="PCM_16")
            tables[table][utt] = str(path.resolve())
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, table in tables.items():
        write_table(str(tmp / name), table)
    for name in ("utt2spk", "spk2utt", "text"):
        if (src_dir / name).is_file():
            shutil.copy(src_dir / name, tmp / name)
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("src_dir", type=Path, help="Kaldi-style data dir with wav.scp")
    parser.add_argument("out_dir", type=Path, help="dir to write (replaced if it exists)")
    parser.add_argument("--rir_scp", type=Path, required=True, help="'<id> <wav>' lines")
    parser.add_argument("--noise_scp", type=Path, required=True, help="'<id> <wav>' lines")
    parser.add_argument("--snr_range", type=float, nargs=2, default=[5.0, 15.0],
                        metavar=("LOW", "HIGH"), help="SNR range in dB")
    parser.add_argument("--wavdir", type=Path, required=True, help="where the audio goes")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        simulate(args.src_dir, args.out_dir, args.rir_scp, args.noise_scp, args.snr_range,
                 args.wavdir, args.seed)
    except (FileNotFoundError, ValueError, DataError) as exc:
        raise SystemExit(f"simulate_noisy: {exc}")


if __name__ == "__main__":
    main()
