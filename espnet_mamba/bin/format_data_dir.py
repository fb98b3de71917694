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

Every audio file is decoded once, completely, and its frame count checked against its
header: a file that cannot be decoded, or holds fewer frames than its header says (a
truncated copy), is dropped like one outside the duration range, and each dropped
utterance is listed with its id, path and reason in ``<output_dir>/dropped_utts.tsv``
(the log names the file).

The output is built in ``<output_dir>.tmp`` and renamed when complete, so an interrupted
run never leaves an output dir that looks finished.
"""
import argparse
import logging
import math
import os
import re
import shutil
import struct
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


def declared_frames(path: str) -> Optional[int]:
    """The frame count a WAV or NIST SPHERE header declares (libsndfile reports the
    frames actually present, so it cannot tell a truncated file); None for other
    formats (their decoders fail on truncation) or an unknown length."""
    with open(path, "rb") as f:
        head = f.read(12)
        if head[:4] == b"NIST":
            f.seek(0)
            header = f.read(1024).decode("ascii", "replace")
            match = re.search(r"^sample_count -i (\d+)", header, re.M)
            return int(match.group(1)) if match else None
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        block_align = None
        while chunk := f.read(8):
            if len(chunk) < 8:
                return None
            size = struct.unpack("<I", chunk[4:])[0]
            if chunk[:4] == b"fmt ":
                block_align = struct.unpack("<H", f.read(size)[12:14])[0]
                size = 0
            elif chunk[:4] == b"data":
                unknown = size in (0, 0xFFFFFFFF) or not block_align
                return None if unknown else size // block_align
            f.seek(size + (size & 1), 1)
    return None


class Result(NamedTuple):
    """What became of one job: the samples written, or why it was dropped."""

    samples: Optional[int]  # None: dropped
    problem: str = ""  # why it was dropped


def process(job: Job, fs: int, resample: bool, min_duration: float,
            max_duration: float) -> Result:
    """Decode one utterance completely and write it, or say why it is dropped.

    Raises:
        DataError: audio the settings cannot take (not mono; another rate without
            resampling), which stops the whole run.
    """
    try:
        info = sf.info(job.src)
        audio, _ = sf.read(job.src, dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:
        return Result(None, f"cannot be decoded: {exc}")
    if info.channels != 1:
        raise DataError(f"{job.src_utt}: {job.src} has {info.channels} channels; only mono "
                        "audio is supported")
    if info.samplerate != fs and not resample:
        raise DataError(f"{job.src_utt}: {job.src} is sampled at {info.samplerate} Hz, not "
                        f"{fs} Hz (enable resampling or fix the data)")
    declared = declared_frames(job.src)
    if declared is not None and len(audio) != declared:
        return Result(None, f"truncated: the header says {declared} frames, "
                            f"{len(audio)} could be decoded")
    ratio = Fraction(fs, info.samplerate) / Fraction(job.speed)
    duration = len(audio) * ratio / fs
    if not min_duration <= duration <= max_duration:
        return Result(None, f"duration {float(duration):.3f} s is outside "
                            f"{min_duration:g}-{max_duration:g} s")
    audio = change_rate(audio[:, 0], ratio)
    sf.write(job.dst, np.clip(audio, -1.0, 1.0), fs, subtype="PCM_16")
    return Result(len(audio))


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
             max_duration: float) -> List[Result]:
    """Process all jobs, with ``nj`` worker processes if nj > 1, logging progress."""
    work = partial(process, fs=fs, resample=resample, min_duration=min_duration,
                   max_duration=max_duration)
    pool = ProcessPoolExecutor(nj) if nj > 1 else None
    step = max(1, len(jobs) // 10)
    results: List[Result] = []
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


def check_lengths(utt: str, results: Dict[str, Result]) -> None:
    """Every audio table of a kept utterance must have wav.scp's sample count."""
    for name, result in results.items():
        if result.samples != results["wav.scp"].samples:
            raise DataError(f"{utt}: {name} has {result.samples} samples at the output "
                            f"rate, wav.scp {results['wav.scp'].samples} samples; the audio "
                            "of one utterance must have the same length in every table")


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
    by_table = {name: [next(results) for _ in jobs[name]] for name in audio_tables}

    out: Dict[str, Dict[str, str]] = {name: {} for name in audio_tables}
    out.update({"utt2spk": {}, "utt2num_samples": {}})
    if "text" in tables:
        out["text"] = {}
    dropped: List[str] = []  # "utt<TAB>path<TAB>reason" lines
    for i, job in enumerate(jobs["wav.scp"]):
        utt = job.prefix + job.src_utt
        problems = [(name, by_table[name][i]) for name in audio_tables
                    if by_table[name][i].samples is None]
        if problems:
            name, result = problems[0]
            dropped.append(f"{utt}\t{jobs[name][i].src}\t{name}: {result.problem}")
            continue
        check_lengths(utt, {name: by_table[name][i] for name in audio_tables})
        for name in audio_tables:
            out[name][utt] = os.path.join(output_dir, "data", audio_subdir(name),
                                          os.path.basename(jobs[name][i].dst))
        if "text" in tables:
            out["text"][utt] = tables["text"][job.src_utt]
        out["utt2spk"][utt] = job.prefix + tables["utt2spk"][job.src_utt]
        out["utt2num_samples"][utt] = str(by_table["wav.scp"][i].samples)
    if dropped:
        report = os.path.join(output_dir, "dropped_utts.tsv")
        with open(os.path.join(tmp_dir, "dropped_utts.tsv"), "w", encoding="utf-8") as f:
            f.write("utt\tpath\treason\n" + "\n".join(dropped) + "\n")
        logging.warning("dropped %d of %d utterance(s) (unreadable, truncated or outside "
                        "%g-%g s); they are listed in %s", len(dropped), len(jobs["wav.scp"]),
                        min_duration, max_duration, report)
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
