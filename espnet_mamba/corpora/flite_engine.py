"""Speech synthesis with Flite (CMU's Festival-lite), for more voices built from recorded
speakers.

Debian: ``apt-get install flite`` (2.2) has its voices built in: ``awb`` (the CMU ARCTIC
Scottish male speaker AWB), ``rms`` (the ARCTIC American male RMS), ``slt`` (the ARCTIC
American female SLT: the speaker of Festival's ``cmu_us_slt_arctic_hts``, another
synthesis method), ``kal16`` and ``kal`` (the diphone speaker of Festival's
``kal_diphone``; 16 and 8 kHz).  The corpus generators name them ``flite:<voice>``.
One ``flite`` process per sentence (the voices are compiled in: starting one takes
milliseconds); the speaking rate maps to ``duration_stretch = 160 / words per minute``,
and every voice keeps its own pitch.  Flite speaks an unknown voice name with its default
voice instead of failing, so the names are checked against ``flite -lv`` first.
"""
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import List, Sequence, Tuple

import soundfile as sf

from espnet_mamba.data.format import write_resampled

PREFIX = "flite:"
PROGRAM = "flite"

# (text, voice without the prefix, words per minute, output path)
Job = Tuple[str, str, int, Path]


class FliteError(RuntimeError):
    """Flite is missing, or refused a voice or a text."""


def _program() -> str:
    path = shutil.which(PROGRAM)
    if path is None:
        raise FliteError("the flite program is not installed: apt-get install flite")
    return path


def _run(args: Sequence[str], what: str, ok: Sequence[int] = (0,)) -> str:
    """flite's stdout and stderr; an exit status outside ``ok`` is a FliteError."""
    done = subprocess.run([_program(), *args], capture_output=True, text=True)
    if done.returncode not in ok:
        raise FliteError(f"flite failed on {what}: {done.stderr.strip()[-300:]}")
    return done.stdout + done.stderr


def installed_voices() -> List[str]:
    """The voices ``flite -lv`` lists."""
    listed = re.search(r"Voices available:(.*)", _run(["-lv"], "listing its voices"))
    return listed.group(1).split() if listed else []


def version() -> str:
    """E.g. ``Flite 2.2``; ``flite --version`` prints it and exits with status 1."""
    printed = _run(["--version"], "its version", ok=(0, 1))
    found = re.search(r"flite-([\w.]+)", printed)
    if found is None:
        raise FliteError(f"flite --version printed no version: {printed.strip()[-300:]}")
    return f"Flite {found.group(1)}"


def check_voices(voices: Sequence[str]) -> None:
    """Every ``flite:<voice>`` must be one of the installed voices.

    Raises:
        FliteError: naming the first voice that is not installed.
    """
    if not voices:
        return
    installed = installed_voices()
    for voice in voices:
        if voice[len(PREFIX):] not in installed:
            raise FliteError(f"flite has no voice {voice!r} (installed: "
                             f"{', '.join(installed) or 'none'})")


def _synthesize_one(job: Job, fs: int) -> float:
    text, voice, speed, out = job
    if not re.fullmatch(r"[A-Za-z' ]+", text):
        raise FliteError(f"flite texts here are letters, apostrophes and spaces; got {text!r}")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        _run(["-voice", voice, "--setf", f"duration_stretch={160 / speed:.4f}",
              "-t", text.lower(), "-o", str(raw)], f"{text!r} by voice {voice!r}")
        audio, rate = sf.read(raw, dtype="float32")
    return write_resampled(out, audio, rate, fs)


def synthesize(jobs: Sequence[Job], fs: int, processes: int) -> List[float]:
    """Speak every job into its path as ``fs`` Hz 16-bit mono, ``processes`` flite
    processes at a time; returns seconds per job.  Flite is deterministic: the audio does
    not depend on ``processes``."""
    with ThreadPoolExecutor(max(1, processes)) as pool:
        return list(pool.map(lambda job: _synthesize_one(job, fs), jobs))
