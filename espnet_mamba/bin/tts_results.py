"""Write a TTS decoding dir's RESULTS.md: MCD, ASR CER/WER and real-time factor per set
(stage 7 of tts.sh).

    python -m espnet_mamba.bin.tts_results exp/tts_train_raw_char/decode_valid.loss.ave

Reads, for each ``<decode_dir>/<set>/`` with a ``score_mcd/summary.json``
(:mod:`espnet_mamba.bin.tts_score`):

* ``asr/score_{cer,wer}/summary.json`` (:mod:`espnet_mamba.bin.asr_score`), when the
  synthesized speech was transcribed;
* ``logs/tts_inference.*.log``: ``espnet2.bin.tts_inference`` logs each utterance's
  output size and speed (model and vocoder together); their ratio is its synthesis time;
* ``wav.scp``: the synthesized audio, whose total duration divides the total time (RTF;
  each decoding job's first utterance, which pays the start-up costs, left out).

With ``--reference_asr_dir``, ``<dir>/<set>/score_{cer,wer}/summary.json`` (the ASR of the
reference recordings) add a row ``<set> (reference audio)``: what the ASR model makes of
the recordings themselves.
"""
import argparse
import glob
import json
import os
import re
from typing import List, Optional, Tuple

import soundfile as sf

from espnet_mamba.bin.asr_results import environment
from espnet_mamba.bin.asr_score import Counts
from espnet_mamba.bin.format_data_dir import DataError, read_table

SPEED = re.compile(r"inference speed = ([0-9.]+) (?:frames|points) / sec\.")
SIZE = re.compile(r"(\S+) \(size:\d+->(\d+)\)")


def synthesis_seconds(log_path: str) -> List[Tuple[str, float]]:
    """(utterance, synthesis time in s) in decoding order, from a tts_inference log
    (output size / logged speed).

    Raises:
        ValueError: a speed line without the size line that follows it.
    """
    times: List[Tuple[str, float]] = []
    speed: Optional[float] = None
    with open(log_path, encoding="utf-8") as f:
        for line in f:
            match = SPEED.search(line)
            if match:
                speed = float(match.group(1))
                continue
            match = SIZE.search(line)
            if match and speed is not None:
                times.append((match.group(1), int(match.group(2)) / speed))
                speed = None
    if speed is not None:
        raise ValueError(f"{log_path}: an 'inference speed' line has no size line after it")
    return times


def real_time_factor(set_dir: str) -> Optional[float]:
    """Synthesis time / duration of the synthesized audio, summed over one set, or None
    without inference logs.  Each job's first utterance is left out when the job made
    more than one: it pays the one-off start-up costs (lazy initialisation, JIT caches)."""
    logs = sorted(glob.glob(os.path.join(set_dir, "logs", "tts_inference.*.log")))
    if not logs:
        return None
    wavs = read_table(os.path.join(set_dir, "wav.scp"))
    jobs = [synthesis_seconds(path) for path in logs]
    missing = sorted(set(wavs) - {utt for job in jobs for utt, _ in job})
    if missing:
        raise ValueError(f"{set_dir}: no synthesis time logged for {len(missing)} "
                         f"utterance(s), e.g. {missing[0]}")
    times = dict(item for job in jobs for item in (job[1:] if len(job) > 1 else job))
    duration = sum(sf.info(wavs[utt]).duration for utt in times)
    return sum(times.values()) / duration


def error_rate(path: str) -> Optional[float]:
    """Err (%) of an asr_score summary.json, or None if there is none."""
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return Counts(**json.load(f)).percentages()["Err"]


def row(decode_dir: str, dset: str) -> List[str]:
    """The table cells of one scored set."""
    set_dir = os.path.join(decode_dir, dset)
    with open(os.path.join(set_dir, "score_mcd", "summary.json"), encoding="utf-8") as f:
        mcd = json.load(f)
    cells = [dset, str(mcd["utts"]), f"{mcd['mcd_mean']:.2f} ± {mcd['mcd_std']:.2f}"]
    cells += error_cells(os.path.join(set_dir, "asr"))
    rtf = real_time_factor(set_dir)
    cells.append("-" if rtf is None else f"{rtf:.3f}")
    return cells


def error_cells(asr_dir: str) -> List[str]:
    """CER and WER cells of an ASR dir (``-`` where there is no score)."""
    cells = []
    for unit in ("cer", "wer"):
        err = error_rate(os.path.join(asr_dir, f"score_{unit}", "summary.json"))
        cells.append("-" if err is None else f"{err:.1f}")
    return cells


def reference_row(reference_asr_dir: str, dset: str) -> Optional[List[str]]:
    """The cells of the reference audio of one set, or None if it was not transcribed."""
    summary = os.path.join(reference_asr_dir, dset, "score_cer", "summary.json")
    if not os.path.isfile(summary):
        return None
    with open(summary, encoding="utf-8") as f:
        utts = json.load(f)["snt"]
    return [f"{dset} (reference audio)", str(utts), "-",
            *error_cells(os.path.join(reference_asr_dir, dset)), "-"]


def make_results(decode_dir: str, note: str = "", reference_asr_dir: str = "") -> str:
    """RESULTS.md's text for ``decode_dir`` (and the ASR of the reference audio in
    ``reference_asr_dir``, if given)."""
    sets = sorted(os.path.basename(os.path.dirname(os.path.dirname(p))) for p in
                  glob.glob(os.path.join(decode_dir, "*", "score_mcd", "summary.json")))
    lines = ["<!-- Generated by espnet_mamba.bin.tts_results -->", "# RESULTS"]
    lines += environment()
    lines += [f"## {os.path.normpath(decode_dir)}", ""]
    if note:
        lines += [note, ""]
    lines += ["- MCD: mel-cepstral distortion against the reference audio, DTW-aligned, "
              "c0 excluded (mean ± std over utterances)",
              "- CER/WER: ASR of the synthesized speech against the input text "
              "(`-`: not transcribed; `(reference audio)`: ASR of the recordings)",
              "- RTF: synthesis time (acoustic model + vocoder) / synthesized duration", "",
              "|dataset|utterances|MCD (dB)|CER (%)|WER (%)|RTF|",
              "|---|---|---|---|---|---|"]
    for dset in sets:
        lines.append("|" + "|".join(row(decode_dir, dset)) + "|")
        reference = reference_row(reference_asr_dir, dset) if reference_asr_dir else None
        if reference:
            lines.append("|" + "|".join(reference) + "|")
    return "\n".join(lines) + "\n"


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("decode_dir", help="the decoding dir holding <set>/score_mcd/")
    parser.add_argument("--note", default="", help="a line to add under the heading")
    parser.add_argument("--reference_asr_dir", default="",
                        help="ASR of the reference audio: <dir>/<set>/score_{cer,wer}/")
    args = parser.parse_args(argv)
    if not glob.glob(os.path.join(args.decode_dir, "*", "score_mcd", "summary.json")):
        raise SystemExit(f"tts_results: no scored set (<set>/score_mcd/summary.json) "
                         f"under {args.decode_dir}")
    try:
        text = make_results(args.decode_dir, args.note, args.reference_asr_dir)
    except (DataError, ValueError) as exc:
        raise SystemExit(f"tts_results: {exc}")
    with open(os.path.join(args.decode_dir, "RESULTS.md"), "w", encoding="utf-8") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
