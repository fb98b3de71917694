"""Speech synthesis with the Festival system, for voices built from recorded speakers.

Debian: ``apt-get install festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts``
gives ``kal_diphone`` and ``ked_diphone`` (American English male diphone voices, 16 kHz)
and ``cmu_us_slt_arctic_hts`` (the CMU ARCTIC female speaker SLT, HTS, 32 kHz).  The
corpus generators name them ``festival:<voice>``.  A block of sentences is one
``festival --batch`` process (a Scheme script that selects each sentence's voice and
``Duration_Stretch`` and saves its wave), so the start-up cost is paid once per block.
The speaking rate maps to ``Duration_Stretch = 160 / words per minute``; the diphone
voices follow it, the HTS voice keeps its own durations, and every voice its own pitch.
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

PREFIX = "festival:"
PROGRAM = "festival"
BLOCK = 200  # sentences per festival process

# (text, voice without the prefix, words per minute, output path)
Job = Tuple[str, str, int, Path]


class FestivalError(RuntimeError):
    """Festival is missing, or refused a voice or a text."""


def _program() -> str:
    path = shutil.which(PROGRAM)
    if path is None:
        raise FestivalError("the festival program is not installed: apt-get install festival "
                            "festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts")
    return path


def _batch(script: str, what: str) -> None:
    """Run ``script`` in ``festival --batch``; a Scheme error raises naming ``what``."""
    with tempfile.NamedTemporaryFile("w", suffix=".scm") as f:
        f.write(script)
        f.flush()
        done = subprocess.run([_program(), "--batch", f.name], capture_output=True, text=True)
    error = re.search(r"SIOD ERROR: (.*)", done.stderr + done.stdout)
    if done.returncode != 0 or error:
        detail = error.group(1) if error else done.stderr.strip()[-300:]
        raise FestivalError(f"festival failed on {what}: {detail}")


def version() -> str:
    """E.g. ``Festival 2.5.0``."""
    done = subprocess.run([_program(), "--version"], capture_output=True, text=True)
    printed = done.stdout + done.stderr
    found = re.search(r"System: ([\w.]+)", printed)
    if done.returncode != 0 or found is None:
        raise FestivalError(f"festival --version printed no version: {printed.strip()[-300:]}")
    return f"Festival {found.group(1)}"


def check_voices(voices: Sequence[str]) -> None:
    """Every ``festival:<voice>`` must load in Festival.

    Raises:
        FestivalError: naming the first voice that does not load.
    """
    for voice in voices:
        name = voice[len(PREFIX):]
        if not re.fullmatch(r"[A-Za-z0-9_]+", name):
            raise FestivalError(f"festival voice names are letters, digits and _; got {voice!r}")
        try:
            _batch(f"(voice_{name})\n", f"voice {voice!r}")
        except FestivalError:
            raise FestivalError(f"festival has no voice {voice!r} (installed: kal_diphone, "
                                "ked_diphone, cmu_us_slt_arctic_hts with the festvox "
                                "packages)") from None


def _script(jobs: Sequence[Job], raw: Sequence[Path]) -> str:
    lines = []
    for (text, voice, speed, _), path in zip(jobs, raw):
        if not re.fullmatch(r"[A-Za-z' ]+", text):
            raise FestivalError(f"festival texts here are letters, apostrophes and spaces; "
                                f"got {text!r}")
        lines += [f"(voice_{voice})", f"(Parameter.set 'Duration_Stretch {160 / speed:.4f})",
                  f'(utt.save.wave (utt.synth (Utterance Text "{text.lower()}")) "{path}" '
                  "'riff)"]
    return "\n".join(lines) + "\n"


def _synthesize_block(jobs: Sequence[Job], fs: int) -> List[float]:
    with tempfile.TemporaryDirectory() as tmp:
        raw = [Path(tmp) / f"{i}.wav" for i in range(len(jobs))]
        _batch(_script(jobs, raw), f"the block starting with {jobs[0][0]!r}")
        seconds = []
        for path, (_, _, _, out) in zip(raw, jobs):
            audio, rate = sf.read(path, dtype="float32")
            seconds.append(write_resampled(out, audio, rate, fs))
    return seconds


def synthesize(jobs: Sequence[Job], fs: int, processes: int) -> List[float]:
    """Speak every job into its path as ``fs`` Hz 16-bit mono, ``processes`` festival
    processes at a time, blocks of :data:`BLOCK` sentences; returns seconds per job.
    Festival is deterministic: the audio does not depend on ``processes``."""
    blocks = [jobs[i:i + BLOCK] for i in range(0, len(jobs), BLOCK)]
    with ThreadPoolExecutor(max(1, processes)) as pool:
        results = list(pool.map(lambda block: _synthesize_block(block, fs), blocks))
    return [s for block in results for s in block]
