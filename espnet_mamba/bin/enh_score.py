"""Score separated speech: SI-SNR(i), SDR(i), STOI and PESQ per utterance, and RESULTS.md.

    python -m espnet_mamba.bin.enh_score score --mix_scp dump/raw/test/wav.scp \\
        --ref_scp dump/raw/test/spk1.scp --ref_scp dump/raw/test/spk2.scp \\
        --inf_scp exp/enh/enhanced_test/spk1.scp --inf_scp exp/enh/enhanced_test/spk2.scp \\
        --output_dir exp/enh/enhanced_test/scoring
    python -m espnet_mamba.bin.enh_score results exp/enh    # -> exp/enh/RESULTS.md

``score`` pairs every reference with one estimate: the speaker order that maximizes the
summed SDR (fast_bss_eval, bss_eval's SDR with a 512-tap distortion filter), used for
every metric.  Per reference speaker it computes SI-SNR, its improvement over the
mixture (SI-SNRi), SDR, SDRi, STOI (pystoi) and PESQ (narrowband at 8 kHz, wideband at
16 kHz; PESQ is undefined at other rates: leave it out with ``--metrics``).  The signals
of one utterance must share one sample rate; estimates may be a few samples longer or
shorter than the references (``--max_length_diff``) and are then cut to the shortest.
It writes ``<output_dir>/per_utterance.tsv`` (one row per utterance and reference
speaker) and ``summary.json`` (the means), and prints the means.  A PESQ that finds no
speech in a reference is NaN in the table, left out of the mean and counted in
``summary.json``'s ``pesq_failures``.

``results`` collects ``<exp_dir>/*/scoring/summary.json`` into ``<exp_dir>/RESULTS.md``
(ESPnet's layout: one row per scored set) and prints it.
"""
import argparse
import glob
import json
import math
import os
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import soundfile as sf

from espnet_mamba.bin.asr_results import environment

METRICS = ("SI_SNR", "SDR", "STOI", "PESQ")
PESQ_MODES = {8000: "nb", 16000: "wb"}
EPS = 1e-12


class ScoreError(Exception):
    """A problem with the inputs, reported as one readable line."""


def si_snr(est: np.ndarray, ref: np.ndarray) -> float:
    """Scale-invariant SNR (dB) of ``est`` against ``ref`` (both 1-D, zero-meaned here)."""
    est, ref = est - est.mean(), ref - ref.mean()
    target = (est @ ref) / (ref @ ref + EPS) * ref
    noise = est - target
    return float(10 * np.log10((target @ target + EPS) / (noise @ noise + EPS)))


def sdr(refs: np.ndarray, ests: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """bss_eval SDR (dB) of ``ests`` (S, T) against ``refs`` (S, T) in the speaker order
    that maximizes their sum: ``(sdr per reference, perm)``, ``ests[perm[i]]`` matching
    ``refs[i]``."""
    import fast_bss_eval  # here and below: slow imports, not needed by ``results``

    return fast_bss_eval.sdr(refs, ests, return_perm=True)


def pesq_score(ref: np.ndarray, est: np.ndarray, fs: int) -> float:
    """PESQ MOS-LQO (narrowband at 8 kHz, wideband at 16 kHz); NaN when PESQ finds no
    speech in the reference."""
    from pesq import NoUtterancesError, PesqError, pesq

    try:
        return float(pesq(fs, ref, est, PESQ_MODES[fs]))
    except NoUtterancesError:
        return math.nan
    except PesqError as exc:
        message = exc.args[0] if exc.args else ""
        if isinstance(message, bytes):
            message = message.decode(errors="replace")
        raise ScoreError(f"PESQ failed ({type(exc).__name__}): {message}") from None


def stoi_score(ref: np.ndarray, est: np.ndarray, fs: int) -> float:
    """STOI (0-1), pystoi's implementation (it resamples to 10 kHz itself)."""
    from pystoi import stoi

    return float(stoi(ref, est, fs, extended=False))


def read_scp(path: str) -> Dict[str, str]:
    """``key path`` lines -> {key: path}."""
    if not os.path.isfile(path):
        raise ScoreError(f"missing file: {path}")
    table = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            fields = line.split(maxsplit=1)
            if not fields:
                continue
            if len(fields) < 2:
                raise ScoreError(f"{path}:{lineno}: expected 'key path', got {line.strip()!r}")
            table[fields[0]] = fields[1].strip()
    return table


def load(path: str, what: str, utt: str) -> Tuple[np.ndarray, int]:
    """A mono audio file as float64."""
    try:
        audio, fs = sf.read(path, dtype="float64")
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise ScoreError(f"{utt}: cannot read {what} {path}: {exc}") from None
    if audio.ndim != 1:
        raise ScoreError(f"{utt}: {what} {path} has {audio.shape[1]} channels; only mono "
                         "audio is scored")
    return audio, fs


def load_utterance(utt: str, files: Dict[str, str], max_length_diff: int
                   ) -> Tuple[Dict[str, np.ndarray], int]:
    """Load one utterance's signals (named as in ``files``), checked for a common
    sample rate and length, cut to the shortest."""
    signals, rates = {}, {}
    for what, path in files.items():
        signals[what], rates[what] = load(path, what, utt)
    if len(set(rates.values())) > 1:
        shown = ", ".join(f"{what} {fs} Hz" for what, fs in rates.items())
        raise ScoreError(f"{utt}: sample rates differ ({shown}); resample the estimates "
                         "or the references to one rate")
    lengths = {what: len(x) for what, x in signals.items()}
    if max(lengths.values()) - min(lengths.values()) > max_length_diff:
        shown = ", ".join(f"{what} {n}" for what, n in lengths.items())
        raise ScoreError(f"{utt}: lengths differ by more than {max_length_diff} samples "
                         f"({shown}); are these the estimates of these references?")
    length = min(lengths.values())
    return {what: x[:length] for what, x in signals.items()}, next(iter(rates.values()))


def score_utterance(mix: np.ndarray, refs: np.ndarray, ests: np.ndarray, fs: int,
                    metrics: Sequence[str] = METRICS) -> List[Dict[str, float]]:
    """Metrics of every reference (rows of ``refs``, (S, T)) against its best-matching
    estimate (``ests``, (S, T)); each row also gives the estimate index ``est``."""
    sdrs, perm = sdr(refs, ests)
    rows = []
    for i, ref in enumerate(refs):
        est = ests[perm[i]]
        row: Dict[str, float] = {"est": int(perm[i])}
        if "SI_SNR" in metrics:
            row["SI_SNR"] = si_snr(est, ref)
            row["SI_SNRi"] = row["SI_SNR"] - si_snr(mix, ref)
        if "SDR" in metrics:
            row["SDR"] = float(sdrs[i])
        if "STOI" in metrics:
            row["STOI"] = stoi_score(ref, est, fs)
        if "PESQ" in metrics:
            row["PESQ"] = pesq_score(ref, est, fs)
        rows.append(row)
    if "SDR" in metrics:
        mix_sdrs, _ = sdr(refs, np.stack([mix] * len(refs)))
        for row, mix_sdr in zip(rows, mix_sdrs):
            row["SDRi"] = row["SDR"] - float(mix_sdr)
    return rows


def columns(metrics: Sequence[str]) -> List[str]:
    """The table's metric columns, in a fixed order."""
    names = {"SI_SNR": ["SI_SNR", "SI_SNRi"], "SDR": ["SDR", "SDRi"], "STOI": ["STOI"],
             "PESQ": ["PESQ"]}
    return [c for m in METRICS if m in metrics for c in names[m]]


def score_set(mix_scp: str, ref_scps: Sequence[str], inf_scps: Sequence[str],
              output_dir: str, metrics: Sequence[str] = METRICS,
              max_length_diff: int = 16) -> Dict[str, float]:
    """Score every utterance of ``ref_scps[0]``; writes the table and summary, returns
    the means."""
    if len(ref_scps) != len(inf_scps):
        raise ScoreError(f"{len(ref_scps)} reference scp(s) but {len(inf_scps)} estimate "
                         "scp(s): give one --inf_scp per --ref_scp")
    scps = {"mixture": read_scp(mix_scp)}
    for i, (ref, inf) in enumerate(zip(ref_scps, inf_scps), 1):
        scps[f"reference {i}"], scps[f"estimate {i}"] = read_scp(ref), read_scp(inf)
    utts = sorted(scps["reference 1"])
    for what, table in scps.items():
        missing = [utt for utt in utts if utt not in table]
        if missing:
            raise ScoreError(f"{len(missing)} utterance(s) have no {what}, e.g. {missing[0]}")
    cols = columns(metrics)
    lines = ["\t".join(["utt", "spk", "est", *cols])]
    values: Dict[str, List[float]] = {c: [] for c in cols}
    for utt in utts:
        signals, fs = load_utterance(utt, {what: table[utt] for what, table in scps.items()},
                                     max_length_diff)
        if "PESQ" in metrics and fs not in PESQ_MODES:
            raise ScoreError(f"{utt}: PESQ needs 8000 or 16000 Hz audio, got {fs} Hz; "
                             "leave it out with --metrics")
        refs = np.stack([signals[f"reference {i}"] for i in range(1, len(ref_scps) + 1)])
        ests = np.stack([signals[f"estimate {i}"] for i in range(1, len(inf_scps) + 1)])
        try:
            rows = score_utterance(signals["mixture"], refs, ests, fs, metrics)
        except ScoreError as exc:
            raise ScoreError(f"{utt}: {exc}") from None
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


def make_results(exp_dir: str) -> str:
    """RESULTS.md's text: one row per ``<exp_dir>/<set dir>/scoring/summary.json``."""
    paths = sorted(glob.glob(os.path.join(exp_dir, "*", "scoring", "summary.json")))
    if not paths:
        raise ScoreError(f"no scored set under {exp_dir} (*/scoring/summary.json)")
    summaries = {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            summaries[os.path.basename(os.path.dirname(os.path.dirname(path)))] = json.load(f)
    cols = [c for c in columns(METRICS)
            if any(c in s["means"] for s in summaries.values())]
    lines = ["<!-- Generated by espnet_mamba.bin.enh_score -->", "# RESULTS"]
    lines += environment()
    lines += [f"## {os.path.basename(os.path.normpath(exp_dir))}", "",
              f"- config: `{os.path.join(exp_dir, 'config.yaml')}`", "",
              "|dataset|Snt|" + "|".join(cols) + "|", "|---" * (2 + len(cols)) + "|"]
    for name, summary in summaries.items():
        cells = [name, str(summary["utterances"])]
        cells += [f"{summary['means'][c]:.2f}" if c in summary["means"] else "-" for c in cols]
        lines.append("|" + "|".join(cells) + "|")
    return "\n".join(lines) + "\n"


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    score = sub.add_parser("score", help="score one set")
    score.add_argument("--mix_scp", required=True, help="the mixtures (input of separation)")
    score.add_argument("--ref_scp", action="append", required=True,
                       help="references, one scp per speaker (repeat the option)")
    score.add_argument("--inf_scp", action="append", required=True,
                       help="estimates, one scp per speaker (repeat the option)")
    score.add_argument("--output_dir", required=True,
                       help="gets per_utterance.tsv and summary.json")
    score.add_argument("--metrics", nargs="+", choices=METRICS, default=list(METRICS))
    score.add_argument("--max_length_diff", type=int, default=16,
                       help="largest length difference (samples) cut off silently")
    results = sub.add_parser("results", help="write <exp_dir>/RESULTS.md")
    results.add_argument("exp_dir", help="the enhancement experiment dir")
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    args = get_parser().parse_args(argv)
    try:
        if args.command == "score":
            means = score_set(args.mix_scp, args.ref_scp, args.inf_scp, args.output_dir,
                              args.metrics, args.max_length_diff)
            print(" ".join(f"{c} {v:.2f}" for c, v in means.items()))
        else:
            text = make_results(args.exp_dir)
            with open(os.path.join(args.exp_dir, "RESULTS.md"), "w", encoding="utf-8") as f:
                f.write(text)
            print(text, end="")
    except ScoreError as exc:
        print(f"enh_score: error: {exc}", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
