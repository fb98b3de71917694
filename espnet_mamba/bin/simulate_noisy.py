"""Noisy, reverberant copies of a data dir, made once with a fixed seed (dev/test sets).

    python -m espnet_mamba.bin.simulate_noisy data/test data/test_noisy \\
        --rir_scp data/rirs.scp --noise_scp data/noises.scp --snr_range 5 15 \\
        --wavdir downloads/noisy --seed 0

Writes ``wav.scp`` (noisy), ``spk1.scp`` (target), ``noise1.scp`` and the input's
``utt2spk``, ``spk2utt`` and ``text`` (:mod:`espnet_mamba.corpora.noisy`).
"""
import argparse
from pathlib import Path
from typing import List, Optional

from espnet_mamba.bin import reported
from espnet_mamba.corpora.noisy import simulate


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
    with reported("simulate_noisy"):
        simulate(args.src_dir, args.out_dir, args.rir_scp, args.noise_scp, args.snr_range,
                 args.wavdir, args.seed)


if __name__ == "__main__":
    main()
