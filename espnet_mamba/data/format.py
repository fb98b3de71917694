"""Copy a Kaldi-style data dir, rewriting its audio at one sample rate (stage 2 of the
templates; CLI: ``python -m espnet_mamba.bin.format_data_dir``).

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
import logging
import math
import os
from concurrent.futures import ProcessPoolExecutor
from fractions import Fraction
from functools import partial
from typing import Dict, List, NamedTuple, Optional, Sequence, Union

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from espnet_mamba.data.atomic import atomic_dir
from espnet_mamba.data.audio import declared_frames
from espnet_mamba.data.errors import DataError
from espnet_mamba.data.tables import read_table, spk2utt, write_table

REQUIRED_TABLES = ("wav.scp", "utt2spk")


class Job(NamedTuple):
    """One output utterance: the source audio, where to write it and how to change it."""

    src_utt: str  # the source utterance id
    prefix: str  # "" or "sp<f>-": the output id is prefix + src_utt
    src: str
    dst: str
    speed: str  # the factor as written on the command line, e.g. "0.9"


def read_tables(src_dir: str, extra_scps: Sequence[str]) -> Dict[str, Dict[str, str]]:
    """The required tables, ``extra_scps`` and ``text`` if the dir has one."""
    names = [*REQUIRED_TABLES, *extra_scps]
    if os.path.isfile(os.path.join(src_dir, "text")):
        names.append("text")
    return {name: read_table(os.path.join(src_dir, name)) for name in names}


def check_tables(src_dir: str, tables: Dict[str, Dict[str, str]]) -> None:
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


def write_resampled(path: Union[str, os.PathLike], audio: np.ndarray, rate: int, fs: int) -> float:
    """Write mono ``audio`` sampled at ``rate`` as ``fs`` Hz 16-bit PCM (resampled,
    clipped to [-1, 1]); returns its seconds.  The synthetic corpora's engines write
    every utterance through it."""
    audio = change_rate(audio, Fraction(fs, rate))
    sf.write(path, np.clip(audio, -1, 1), fs, subtype="PCM_16")
    return len(audio) / fs


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
    check_tables(src_dir, tables)
    if drop_empty_text and "text" not in tables:
        raise DataError(f"dropping empty transcripts needs {os.path.join(src_dir, 'text')}")
    audio_tables = ["wav.scp", *extra_scps]
    with atomic_dir(output_dir.rstrip("/")) as tmp:
        return _format(src_dir, output_dir, str(tmp), tables, audio_tables, fs, audio_format,
                       resample, speeds, min_duration, max_duration, drop_empty_text, nj)


def _format(src_dir: str, output_dir: str, tmp_dir: str, tables: Dict[str, Dict[str, str]],
            audio_tables: List[str], fs: int, audio_format: str, resample: bool,
            speeds: Sequence[str], min_duration: float, max_duration: float,
            drop_empty_text: bool, nj: int) -> int:
    """The body of :func:`format_data_dir`, writing into ``tmp_dir``."""
    # every table's jobs in wav.scp's order: the i-th jobs of all tables are one utterance
    jobs = {name: make_jobs({utt: tables[name][utt] for utt in tables["wav.scp"]}, speeds,
                            os.path.join(tmp_dir, "data", audio_subdir(name)), audio_format,
                            name)
            for name in audio_tables}
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
    out["spk2utt"] = spk2utt(out["utt2spk"])
    for name, table in out.items():
        write_table(os.path.join(tmp_dir, name), table)
    return len(out["wav.scp"])
