"""Copy a Kaldi-style data dir, rewriting its audio at one sample rate (stage 2 of asr.sh).

    python -m espnet_mamba.bin.format_data_dir --fs 16k data/train dump/raw/train_sp \\
        --speed_perturb_factors 0.9 1.0 1.1 --min_duration 0.1 --max_duration 20

Reads the source dir's ``wav.scp`` (``utt path``: any file soundfile reads, NIST SPHERE
and FLAC included), ``utt2spk`` and, if present, ``text``.  Writes the output dir:
``data/<utt>.<fmt>`` (mono 16-bit PCM at ``--fs``), ``wav.scp`` pointing at those files,
``text``, ``utt2spk``, ``spk2utt`` and ``utt2num_samples``.  Each speed factor f != 1 adds
a copy of every utterance, f times faster (tempo and pitch, like sox ``speed``), whose
utterance and speaker ids get the prefix ``sp<f>-`` (the Kaldi/ESPnet convention).

``--extra_scps spk1.scp spk2.scp`` formats more audio tables of the same utterances the
same way (enhancement references: ``data/spk1/<utt>.<fmt>``, ``spk1.scp``); each of their
files must have as many samples as the utterance's ``wav.scp`` file.

The output is built in ``<output_dir>.tmp`` and renamed when complete, so an interrupted
run never leaves an output dir that looks finished.
"""
import argparse
import logging
import math
import os
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor
from fractions import Fraction
from functools import partial
from typing import Dict, List, NamedTuple, Optional, Sequence

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

REQUIRED_TABLES = ("wav.scp", "utt2spk")


class DataError(Exception):
    """A problem with the input data, reported as one readable line."""


class Job(NamedTuple):
    """One output utterance: the source audio, where to write it and how to change it."""

    src_utt: str  # the source utterance id
    prefix: str  # "" or "sp<f>-": the output id is prefix + src_utt
    src: str
    dst: str
    speed: str  # the factor as written on the command line, e.g. "0.9"


def parse_fs(value: str) -> int:
    """Sampling rate from ``16000``, ``16k`` or ``22.05k``."""
    try:
        rate = float(value[:-1]) * 1000 if value.lower().endswith("k") else float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a sampling rate: {value!r} (e.g. 16k)")
    if rate <= 0 or rate != int(rate):
        raise argparse.ArgumentTypeError(f"not a sampling rate: {value!r} (e.g. 16k)")
    return int(rate)


def read_table(path: str) -> Dict[str, str]:
    """Read a Kaldi table (``key value...`` per line); the value may be empty."""
    if not os.path.isfile(path):
        raise DataError(f"missing file: {path}")
    table: Dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            fields = line.rstrip("\n").split(maxsplit=1)
            if not fields:
                continue
            if fields[0] in table:
                raise DataError(f"{path}:{lineno}: duplicate key {fields[0]!r}")
            table[fields[0]] = fields[1] if len(fields) > 1 else ""
    return table


def write_table(path: str, table: Dict[str, str]) -> None:
    """Write ``key value`` lines sorted by key (C-locale order, as Kaldi expects)."""
    with open(path, "w", encoding="utf-8") as f:
        for key in sorted(table):
            f.write(f"{key} {table[key]}".rstrip() + "\n")


def read_tables(src_dir: str, extra_scps: Sequence[str]) -> Dict[str, Dict[str, str]]:
    """The required tables, ``extra_scps`` and ``text`` if the dir has one."""
    names = [*REQUIRED_TABLES, *extra_scps]
    if os.path.isfile(os.path.join(src_dir, "text")):
        names.append("text")
    return {name: read_table(os.path.join(src_dir, name)) for name in names}


def check_keys(src_dir: str, tables: Dict[str, Dict[str, str]]) -> None:
    """All tables must hold the same utterances; name the first differences."""
    wav_keys = set(tables["wav.scp"])
    for name in tables:
        for missing, where in ((wav_keys - set(tables[name]), name),
                               (set(tables[name]) - wav_keys, "wav.scp")):
            if missing:
                shown = ", ".join(sorted(missing)[:5])
                raise DataError(f"{len(missing)} utterance(s) missing from "
                                f"{os.path.join(src_dir, where)}: {shown}")


def change_rate(audio: np.ndarray, ratio: Fraction) -> np.ndarray:
    """Resample so that the length scales by ``ratio`` (polyphase filter)."""
    if ratio == 1:
        return audio
    return resample_poly(audio, ratio.numerator, ratio.denominator).astype(np.float32)


def process(job: Job, fs: int, resample: bool, min_duration: float,
            max_duration: float) -> Optional[int]:
    """Write one utterance; its sample count, or None if its duration is out of range."""
    try:
        info = sf.info(job.src)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise DataError(f"{job.src_utt}: cannot read {job.src}: {exc}") from None
    if info.channels != 1:
        raise DataError(f"{job.src_utt}: {job.src} has {info.channels} channels; only mono "
                        "audio is supported")
    if info.samplerate != fs and not resample:
        raise DataError(f"{job.src_utt}: {job.src} is sampled at {info.samplerate} Hz, not "
                        f"{fs} Hz (enable resampling or fix the data)")
    ratio = Fraction(fs, info.samplerate) / Fraction(job.speed)
    duration = info.frames * ratio / fs
    if not min_duration <= duration <= max_duration:
        return None
    audio, _ = sf.read(job.src, dtype="float32")
    audio = change_rate(audio, ratio)
    sf.write(job.dst, np.clip(audio, -1.0, 1.0), fs, subtype="PCM_16")
    return len(audio)


def make_jobs(wav_scp: Dict[str, str], speeds: Sequence[str], audio_dir: str,
              audio_format: str, name: str = "wav.scp") -> List[Job]:
    """One job per (utterance, speed factor) of the audio table ``name``; factor 1 keeps
    the original id."""
    jobs = []
    for speed in speeds:
        prefix = "" if Fraction(speed) == 1 else f"sp{speed}-"
        for utt, path in wav_scp.items():
            if path.rstrip().endswith("|"):
                raise DataError(f"{utt}: {name} entry is a pipe command ({path!r}); "
                                "write the audio file path instead")
            dst = os.path.join(audio_dir, f"{prefix}{utt}.{audio_format}")
            jobs.append(Job(utt, prefix, path, dst, speed))
    missing = [job.src for job in jobs if not os.path.isfile(job.src)]
    if missing:
        raise DataError(f"{len(set(missing))} audio file(s) in {name} do not exist, "
                        f"e.g. {missing[0]}")
    return jobs


def run_jobs(jobs: List[Job], nj: int, fs: int, resample: bool, min_duration: float,
             max_duration: float) -> List[Optional[int]]:
    """Process all jobs, with ``nj`` worker processes if nj > 1, logging progress."""
    work = partial(process, fs=fs, resample=resample, min_duration=min_duration,
                   max_duration=max_duration)
    pool = ProcessPoolExecutor(nj) if nj > 1 else None
    step = max(1, len(jobs) // 10)
    results: List[Optional[int]] = []
    try:
        for result in pool.map(work, jobs, chunksize=16) if pool else map(work, jobs):
            results.append(result)
            if len(results) % step == 0:
                logging.info("formatted %d/%d audio files", len(results), len(jobs))
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
    return results


def audio_subdir(name: str) -> str:
    """Where an audio table's files go under ``data/``: wav.scp's in ``data/`` itself,
    ``spk1.scp``'s in ``data/spk1``."""
    return "" if name == "wav.scp" else name[:-len(".scp")]


def check_lengths(utt: str, n_samples: Dict[str, Optional[int]]) -> None:
    """Every audio table of one output utterance must have wav.scp's sample count
    (None: dropped for its duration)."""
    def describe(n: Optional[int]) -> str:
        return "a duration out of range" if n is None else f"{n} samples"

    for name, n in n_samples.items():
        if n != n_samples["wav.scp"]:
            raise DataError(f"{utt}: {name} has {describe(n)} at the output rate, wav.scp "
                            f"{describe(n_samples['wav.scp'])}; the audio of one utterance "
                            "must have the same length in every table")


def format_data_dir(src_dir: str, output_dir: str, fs: int, audio_format: str = "flac",
                    resample: bool = True, speeds: Sequence[str] = ("1.0",),
                    min_duration: float = 0.0, max_duration: float = math.inf,
                    drop_empty_text: bool = False, nj: int = 1,
                    extra_scps: Sequence[str] = ()) -> int:
    """Format ``src_dir`` into ``output_dir``; returns the number of utterances written."""
    for name in extra_scps:
        if not name.endswith(".scp") or name == "wav.scp" or "/" in name:
            raise DataError(f"extra audio table {name!r}: give the name of a .scp file "
                            "of the data dir other than wav.scp, e.g. spk1.scp")
    tables = read_tables(src_dir, extra_scps)
    check_keys(src_dir, tables)
    if drop_empty_text and "text" not in tables:
        raise DataError(f"dropping empty transcripts needs {os.path.join(src_dir, 'text')}")
    tmp_dir = output_dir.rstrip("/") + ".tmp"
    audio_tables = ["wav.scp", *extra_scps]
    # every table's jobs in wav.scp's order: the i-th jobs of all tables are one utterance
    jobs = {name: make_jobs({utt: tables[name][utt] for utt in tables["wav.scp"]}, speeds,
                            os.path.join(tmp_dir, "data", audio_subdir(name)), audio_format,
                            name)
            for name in audio_tables}
    shutil.rmtree(tmp_dir, ignore_errors=True)
    for name in audio_tables:
        os.makedirs(os.path.join(tmp_dir, "data", audio_subdir(name)))
    if drop_empty_text:
        kept = {name: [job for job in table_jobs if tables["text"][job.src_utt].strip()]
                for name, table_jobs in jobs.items()}
        if len(kept["wav.scp"]) < len(jobs["wav.scp"]):
            logging.info("dropped %d utterance(s) with an empty transcript",
                         len(jobs["wav.scp"]) - len(kept["wav.scp"]))
        jobs = kept
    all_jobs = [job for name in audio_tables for job in jobs[name]]
    results = iter(run_jobs(all_jobs, nj, fs, resample, min_duration, max_duration))
    n_samples = {name: [next(results) for _ in jobs[name]] for name in audio_tables}

    out: Dict[str, Dict[str, str]] = {name: {} for name in audio_tables}
    out.update({"utt2spk": {}, "utt2num_samples": {}})
    if "text" in tables:
        out["text"] = {}
    for i, job in enumerate(jobs["wav.scp"]):
        utt = job.prefix + job.src_utt
        check_lengths(utt, {name: n_samples[name][i] for name in audio_tables})
        if n_samples["wav.scp"][i] is None:
            continue
        for name in audio_tables:
            out[name][utt] = os.path.join(output_dir, "data", audio_subdir(name),
                                          os.path.basename(jobs[name][i].dst))
        if "text" in tables:
            out["text"][utt] = tables["text"][job.src_utt]
        out["utt2spk"][utt] = job.prefix + tables["utt2spk"][job.src_utt]
        out["utt2num_samples"][utt] = str(n_samples["wav.scp"][i])
    dropped = len(jobs["wav.scp"]) - len(out["wav.scp"])
    if dropped:
        logging.info("dropped %d utterance(s) outside %.2f-%.2f s", dropped,
                     min_duration, max_duration)
    if not out["wav.scp"]:
        raise DataError(f"no utterance of {src_dir} is left after filtering")
    spk2utt: Dict[str, List[str]] = {}
    for utt in sorted(out["utt2spk"]):
        spk2utt.setdefault(out["utt2spk"][utt], []).append(utt)
    out["spk2utt"] = {spk: " ".join(utts) for spk, utts in spk2utt.items()}
    for name, table in out.items():
        write_table(os.path.join(tmp_dir, name), table)
    shutil.rmtree(output_dir, ignore_errors=True)
    os.rename(tmp_dir, output_dir)
    return len(out["wav.scp"])


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("src_dir", help="Kaldi-style data dir (wav.scp, utt2spk, text)")
    parser.add_argument("output_dir", help="dir to write (replaced if it exists)")
    parser.add_argument("--fs", type=parse_fs, default=16000, help="sampling rate, e.g. 16k")
    parser.add_argument("--audio_format", choices=("flac", "wav"), default="flac")
    parser.add_argument("--resample", choices=("true", "false"), default="true",
                        help="resample other rates to --fs (false: such input is an error)")
    parser.add_argument("--speed_perturb_factors", nargs="+", default=["1.0"],
                        metavar="F", help="speed factors, e.g. 0.9 1.0 1.1")
    parser.add_argument("--min_duration", type=float, default=0.0,
                        help="drop utterances shorter than this (seconds)")
    parser.add_argument("--max_duration", type=float, default=math.inf,
                        help="drop utterances longer than this (seconds)")
    parser.add_argument("--drop_empty_text", action="store_true",
                        help="drop utterances whose transcript is empty")
    parser.add_argument("--nj", type=int, default=1, help="number of worker processes")
    parser.add_argument("--extra_scps", nargs="+", default=[], metavar="NAME",
                        help="more audio tables to format alike, e.g. spk1.scp spk2.scp")
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    args = get_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    for speed in args.speed_perturb_factors:
        try:
            if Fraction(speed) <= 0:
                raise ValueError
        except ValueError:
            raise SystemExit(f"format_data_dir: bad speed factor {speed!r}")
    try:
        n = format_data_dir(args.src_dir, args.output_dir, args.fs, args.audio_format,
                            args.resample == "true", args.speed_perturb_factors,
                            args.min_duration, args.max_duration, args.drop_empty_text,
                            max(1, args.nj), args.extra_scps)
    except DataError as exc:
        print(f"format_data_dir: error: {exc}", file=sys.stderr)
        raise SystemExit(1)
    logging.info("wrote %d utterances to %s", n, args.output_dir)


if __name__ == "__main__":
    main()
