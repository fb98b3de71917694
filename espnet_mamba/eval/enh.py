"""Separation and enhancement scores: SI-SNR(i) and SDR(i) from fast_bss_eval, STOI from
pystoi, PESQ from pesq, per utterance and reference speaker.

Every reference is paired with one estimate: the speaker order that maximizes the summed
SDR (bss_eval's SDR with a 512-tap distortion filter), used for every metric.  SI-SNR is
fast_bss_eval's SI-SDR of zero-meaned signals.  PESQ is narrowband at 8 kHz, wideband at
16 kHz and undefined at other rates; a PESQ that finds no speech in a reference is NaN,
left out of the mean and counted as a ``pesq_failures``.  (fast_bss_eval imports torch
when it is installed: that import is the library's, not ours.)
"""
import json
import math
import os
from typing import Dict, List, Sequence, Tuple

import numpy as np

from espnet_mamba.data import DataError, check_keys, read_mono, read_table

METRICS = ("SI_SNR", "SDR", "STOI", "PESQ")
PESQ_MODES = {8000: "nb", 16000: "wb"}
COLUMNS = {"SI_SNR": ["SI_SNR", "SI_SNRi"], "SDR": ["SDR", "SDRi"], "STOI": ["STOI"],
           "PESQ": ["PESQ"]}


def si_snr(refs: np.ndarray, ests: np.ndarray) -> np.ndarray:
    """SI-SNR (dB) of each row of ``ests`` (S, T) against the same row of ``refs``."""
    import fast_bss_eval  # here and below: slow imports, not needed to render results

    return fast_bss_eval.si_sdr(refs, ests, zero_mean=True)


def sdr(refs: np.ndarray, ests: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """bss_eval SDR (dB) of ``ests`` (S, T) against ``refs`` (S, T) in the speaker order
    that maximizes their sum: ``(sdr per reference, perm)``, ``ests[perm[i]]`` matching
    ``refs[i]``."""
    import fast_bss_eval

    return fast_bss_eval.sdr(refs, ests, return_perm=True)


def pesq_score(ref: np.ndarray, est: np.ndarray, fs: int) -> float:
    """PESQ MOS-LQO; NaN when PESQ finds no speech in the reference."""
    from pesq import NoUtterancesError, PesqError, pesq

    try:
        return float(pesq(fs, ref, est, PESQ_MODES[fs]))
    except NoUtterancesError:
        return math.nan
    except PesqError as exc:
        message = exc.args[0] if exc.args else ""
        if isinstance(message, bytes):
            message = message.decode(errors="replace")
        raise DataError(f"PESQ failed ({type(exc).__name__}): {message}") from None


def stoi_score(ref: np.ndarray, est: np.ndarray, fs: int) -> float:
    """STOI (0-1), pystoi's implementation (it resamples to 10 kHz itself)."""
    from pystoi import stoi

    return float(stoi(ref, est, fs, extended=False))


def score_utterance(mix: np.ndarray, refs: np.ndarray, ests: np.ndarray, fs: int,
                    metrics: Sequence[str] = METRICS) -> List[Dict[str, float]]:
    """Metrics of every reference (rows of ``refs``, (S, T)) against its best-matching
    estimate (``ests``, (S, T)); each row also gives the estimate index ``est``."""
    sdrs, perm = sdr(refs, ests)
    matched = ests[perm]
    mixes = np.stack([mix] * len(refs))
    rows: List[Dict[str, float]] = [{"est": int(p)} for p in perm]
    if "SI_SNR" in metrics:
        for row, value, base in zip(rows, si_snr(refs, matched), si_snr(refs, mixes)):
            row["SI_SNR"], row["SI_SNRi"] = float(value), float(value - base)
    if "SDR" in metrics:
        for row, value, base in zip(rows, sdrs, sdr(refs, mixes)[0]):
            row["SDR"], row["SDRi"] = float(value), float(value - base)
    for row, ref, est in zip(rows, refs, matched):
        if "STOI" in metrics:
            row["STOI"] = stoi_score(ref, est, fs)
        if "PESQ" in metrics:
            row["PESQ"] = pesq_score(ref, est, fs)
    return rows


def columns(metrics: Sequence[str]) -> List[str]:
    """The table's metric columns, in a fixed order."""
    return [c for m in METRICS if m in metrics for c in COLUMNS[m]]


def load_utterance(utt: str, files: Dict[str, str], max_length_diff: int
                   ) -> Tuple[Dict[str, np.ndarray], int]:
    """Load one utterance's signals (named as in ``files``), checked for a common
    sample rate and length, cut to the shortest."""
    signals, rates = {}, {}
    for what, path in files.items():
        signals[what], rates[what] = read_mono(path, what, utt)
    if len(set(rates.values())) > 1:
        shown = ", ".join(f"{what} {fs} Hz" for what, fs in rates.items())
        raise DataError(f"{utt}: sample rates differ ({shown}); resample the estimates "
                        "or the references to one rate")
    lengths = {what: len(x) for what, x in signals.items()}
    if max(lengths.values()) - min(lengths.values()) > max_length_diff:
        shown = ", ".join(f"{what} {n}" for what, n in lengths.items())
        raise DataError(f"{utt}: lengths differ by more than {max_length_diff} samples "
                        f"({shown}); are these the estimates of these references?")
    length = min(lengths.values())
    return {what: x[:length] for what, x in signals.items()}, next(iter(rates.values()))


def score_set(mix_scp: str, ref_scps: Sequence[str], inf_scps: Sequence[str],
              output_dir: str, metrics: Sequence[str] = METRICS,
              max_length_diff: int = 16) -> Dict[str, float]:
    """Score every utterance of ``ref_scps[0]``; writes ``per_utterance.tsv`` and
    ``summary.json`` to ``output_dir`` and returns the means.

    Raises:
        DataError: a missing table or utterance, unreadable audio, differing rates or
            lengths, PESQ at a rate other than 8/16 kHz.
    """
    if len(ref_scps) != len(inf_scps):
        raise DataError(f"{len(ref_scps)} reference scp(s) but {len(inf_scps)} estimate "
                        "scp(s): give one --inf_scp per --ref_scp")
    paths = {"mixture": mix_scp}
    for i, (ref, inf) in enumerate(zip(ref_scps, inf_scps), 1):
        paths[f"reference {i}"], paths[f"estimate {i}"] = ref, inf
    scps = {what: read_table(path) for what, path in paths.items()}
    utts = sorted(scps["reference 1"])
    for what, table in scps.items():
        check_keys(utts, table, paths[what])
    cols = columns(metrics)
    lines = ["\t".join(["utt", "spk", "est", *cols])]
    values: Dict[str, List[float]] = {c: [] for c in cols}
    for utt in utts:
        signals, fs = load_utterance(utt, {what: table[utt] for what, table in scps.items()},
                                     max_length_diff)
        if "PESQ" in metrics and fs not in PESQ_MODES:
            raise DataError(f"{utt}: PESQ needs 8000 or 16000 Hz audio, got {fs} Hz; "
                            "leave it out with --metrics")
        refs = np.stack([signals[f"reference {i}"] for i in range(1, len(ref_scps) + 1)])
        ests = np.stack([signals[f"estimate {i}"] for i in range(1, len(inf_scps) + 1)])
        try:
            rows = score_utterance(signals["mixture"], refs, ests, fs, metrics)
        except DataError as exc:
            raise DataError(f"{utt}: {exc}") from None
        for spk, row in enumerate(rows, 1):
            lines.append("\t".join([utt, str(spk), str(row["est"] + 1)]
                                   + [f"{row[c]:.4f}" for c in cols]))
            for c in cols:
                values[c].append(row[c])
    means = {c: float(np.nanmean(v)) for c, v in values.items()}
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, "per_utterance.tsv"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(output_dir, "summary.json"), "w", encoding="utf-8") as f:
        json.dump({"utterances": len(utts), "speakers": len(ref_scps), "means": means,
                   "pesq_failures": int(np.isnan(values.get("PESQ", [])).sum())}, f, indent=1)
    return means
