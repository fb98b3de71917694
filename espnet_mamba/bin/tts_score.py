"""Mel-cepstral distortion of synthesized speech against reference recordings (stage 7
of tts.sh).

    python -m espnet_mamba.bin.tts_score --ref_scp dump/raw/test/wav.scp \\
        --syn_scp exp/tts/decode/test/wav.scp --output_dir exp/tts/decode/test/score_mcd

Both inputs are Kaldi ``wav.scp`` files (``utt path``) of mono audio at one sampling
rate; every reference utterance needs a synthesized one.  Mel-cepstra come from the
WORLD envelope (:mod:`espnet_mamba.tts.mel_cepstrum`; order and all-pass constant by
sampling rate unless given), c0 excluded, frames aligned by DTW.  Writes
``<output_dir>/utt2mcd`` (dB per utterance) and ``summary.json`` (mean, standard
deviation and the analysis settings).
"""
import argparse
import json
import os
import sys
from typing import Dict, List, Optional, Tuple

import numpy as np
import soundfile as sf

from espnet_mamba.bin.format_data_dir import DataError, read_table
from espnet_mamba.tts.mcd import wav_mcd
from espnet_mamba.tts.mel_cepstrum import mcep_params


def read_mono(path: str, utt: str) -> Tuple[np.ndarray, int]:
    """The samples and rate of a mono audio file; DataError naming ``utt`` otherwise."""
    try:
        audio, fs = sf.read(path, dtype="float64")
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise DataError(f"{utt}: cannot read {path}: {exc}") from None
    if audio.ndim != 1:
        raise DataError(f"{utt}: {path} has {audio.shape[1]} channels; need mono audio")
    return audio, fs


def score_mcd(refs: Dict[str, str], syns: Dict[str, str], order: Optional[int] = None,
              alpha: Optional[float] = None, frame_period: float = 5.0) -> Tuple[Dict[str, float], dict]:
    """MCD (dB) per reference utterance and a summary.

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
        ref, fs = read_mono(refs[utt], utt)
        syn, syn_fs = read_mono(syns[utt], utt)
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


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ref_scp", required=True, help="wav.scp of the reference audio")
    parser.add_argument("--syn_scp", required=True, help="wav.scp of the synthesized audio")
    parser.add_argument("--output_dir", required=True, help="gets utt2mcd and summary.json")
    parser.add_argument("--order", type=int, default=None,
                        help="mel-cepstrum order (default by sampling rate)")
    parser.add_argument("--alpha", type=float, default=None,
                        help="all-pass constant (default by sampling rate)")
    parser.add_argument("--frame_period", type=float, default=5.0,
                        help="analysis frame shift in milliseconds")
    args = parser.parse_args(argv)
    try:
        refs, syns = read_table(args.ref_scp), read_table(args.syn_scp)
        if not refs:
            raise DataError(f"no utterance in {args.ref_scp}")
        scores, summary = score_mcd(refs, syns, args.order, args.alpha, args.frame_period)
    except (DataError, ValueError) as exc:
        sys.exit(f"tts_score: error: {exc}")
    os.makedirs(args.output_dir, exist_ok=True)
    with open(os.path.join(args.output_dir, "utt2mcd"), "w", encoding="utf-8") as f:
        f.writelines(f"{utt} {value:.4f}\n" for utt, value in scores.items())
    with open(os.path.join(args.output_dir, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
    print(f"MCD {summary['mcd_mean']:.2f} +- {summary['mcd_std']:.2f} dB on "
          f"{summary['utts']} utterances")


if __name__ == "__main__":
    main()
