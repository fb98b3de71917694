"""Speech synthesis with libespeak-ng through its C API (ctypes), from a pip install alone.

PyPI's ``espeakng-loader`` wheel ships ``libespeak-ng`` and its voice data, so the
corpus generators need no ``apt-get install espeak-ng``.  Audio differs between
espeak-ng versions: :func:`engine_description` names the library and its version, and
the generators write it beside every corpus they make.

The library keeps global state: one voice and one set of parameters at a time (so
:meth:`EspeakNG.synthesize` holds a lock and threads take turns), and state that carries
from one sentence to the next even across ``espeak_Terminate``/``espeak_Initialize``:
the same sentence comes out a few ms longer or shorter depending on what the process
spoke before, and its noise sources draw from a random generator (seeded here at 0).  :func:`map_in_fresh_processes` therefore synthesizes a corpus in fresh
processes, each taking a fixed block of the sentences in order, so the audio depends only
on the corpus plan and the number of processes, as with one ``espeak-ng`` program call
per sentence.
"""
import ctypes
import multiprocessing as mp
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from importlib.metadata import version as package_version
from typing import Callable, List, Optional, Sequence, TypeVar

import numpy as np

_AUDIO_OUTPUT_SYNCHRONOUS = 0x02
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RATE, _PITCH = 1, 3  # espeak_PARAMETER values
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.c_void_p)


class _Voice(ctypes.Structure):
    """espeak_VOICE of speak_lib.h."""

    _fields_ = [("name", ctypes.c_char_p), ("languages", ctypes.c_void_p),
                ("identifier", ctypes.c_char_p), ("gender", ctypes.c_ubyte),
                ("age", ctypes.c_ubyte), ("variant", ctypes.c_ubyte), ("xx1", ctypes.c_ubyte),
                ("score", ctypes.c_int), ("spare", ctypes.c_void_p)]


class EspeakError(RuntimeError):
    """The library is missing, or refused a voice, a parameter or a text."""


class EspeakNG:
    """libespeak-ng of the ``espeakng-loader`` wheel, synthesizing into memory.

    Raises:
        EspeakError: the library or its data cannot be loaded.
    """

    _instance: Optional["EspeakNG"] = None

    def __init__(self):
        try:
            import espeakng_loader
        except ImportError as exc:
            raise EspeakError("espeakng-loader is not installed (pip install espeakng-loader)"
                              ) from exc
        data = espeakng_loader.get_data_path()
        try:
            self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        except OSError as exc:
            raise EspeakError(f"cannot load libespeak-ng: {exc}") from exc
        self.lib.espeak_Initialize.restype = ctypes.c_int
        self.lib.espeak_Info.restype = ctypes.c_char_p
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint,
                                          ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
                                          ctypes.c_void_p, ctypes.c_void_p]
        # espeak_Initialize takes the folder that holds espeak-ng-data
        self.sample_rate = self.lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, os.path.dirname(data).encode(), 0)
        if self.sample_rate <= 0:
            raise EspeakError(f"libespeak-ng did not initialize with the data in {data}")
        self.version = self.lib.espeak_Info(None).decode().split()[0]
        self._chunks: List[np.ndarray] = []
        self._lock = threading.Lock()
        self._callback = _CALLBACK(self._collect)  # kept alive as long as the engine
        self.lib.espeak_SetSynthCallback(self._callback)
        self._languages = self._language_table()
        if hasattr(self.lib, "espeak_ng_SetRandSeed"):  # its noise sources (breath, frication)
            self.lib.espeak_ng_SetRandSeed(ctypes.c_long(0))

    def _language_table(self) -> dict:
        """Language code (lower case, e.g. ``en-gb``) -> voice identifier (``gmw/en``):
        the espeak-ng program accepts language codes as voice names, the library's
        ``espeak_SetVoiceByName`` only file names, so codes are resolved here."""
        self.lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
        voices = self.lib.espeak_ListVoices(None)
        table = {}
        i = 0
        while voices[i]:
            voice = voices[i].contents
            raw = ctypes.string_at(voice.languages, 256)
            pos = 0
            while pos < len(raw) and raw[pos] != 0:  # [priority byte][code\0]... \0
                end = raw.index(b"\0", pos + 1)
                code, entry = raw[pos + 1:end].decode().lower(), (raw[pos], voice.identifier)
                table[code] = min(table.get(code, entry), entry)  # the best priority
                pos = end + 1
            i += 1
        return {code: identifier.decode() for code, (_, identifier) in table.items()}

    _create_lock = threading.Lock()

    @classmethod
    def get(cls) -> "EspeakNG":
        """The process' engine (created on first use)."""
        with cls._create_lock:
            if cls._instance is None:
                cls._instance = EspeakNG()
        return cls._instance

    def _collect(self, wav, numsamples, events) -> int:
        if numsamples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(numsamples,)).copy())
        return 0

    def set_voice(self, voice: str) -> None:
        """Select a voice such as ``en-us+m1`` or ``en-gb+m3`` (voice or language code,
        then a variant), as the espeak-ng program's ``-v``."""
        name, plus, variant = voice.partition("+")
        if self.lib.espeak_SetVoiceByName(voice.encode()) == 0:
            return
        identifier = self._languages.get(name.lower())
        if identifier is None or self.lib.espeak_SetVoiceByName(
                f"{identifier}{plus}{variant}".encode()) != 0:
            raise EspeakError(f"espeak-ng has no voice {voice!r} (names such as en-us, "
                              "en-gb-x-rp, with a variant: en-us+m1)")

    def synthesize(self, text: str, voice: str, speed: int = 175,
                   pitch: int = 50) -> np.ndarray:
        """Speak ``text``: float32 samples in [-1, 1) at :attr:`sample_rate`.

        Args:
            text: What to say (UTF-8).
            voice: Voice name, e.g. ``en-us+m1``.
            speed: Words per minute (80-450).
            pitch: Base pitch, 0-99.
        """
        with self._lock:
            self.set_voice(voice)
            for param, value in ((_RATE, speed), (_PITCH, pitch)):
                if self.lib.espeak_SetParameter(param, value, 0) != 0:
                    raise EspeakError(f"espeak-ng refused parameter {param} = {value}")
            data = text.encode("utf-8") + b"\0"
            self._chunks = []
            if self.lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8,
                                     None, None) != 0:
                raise EspeakError(f"espeak-ng could not synthesize {text!r}")
            self.lib.espeak_Synchronize()
            chunks, self._chunks = self._chunks, []
        samples = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
        return samples.astype(np.float32) / 32768.0


def engine_description() -> str:
    """E.g. ``libespeak-ng 1.52.0 (PyPI espeakng-loader 0.2.4)``."""
    return (f"libespeak-ng {EspeakNG.get().version} "
            f"(PyPI espeakng-loader {package_version('espeakng-loader')})")


T = TypeVar("T")
R = TypeVar("R")


def _run_block(fn: Callable[[T], R], block: Sequence[T]) -> List[R]:
    return [fn(item) for item in block]


def map_in_fresh_processes(fn: Callable[[T], R], items: Sequence[T], jobs: int) -> List[R]:
    """``[fn(item) for item in items]``, run in ``jobs`` freshly spawned processes, each
    on one contiguous block of ``items`` in order (``fn`` must be picklable)."""
    items = list(items)
    if not items:
        return []
    size = -(-len(items) // max(1, min(jobs, len(items))))
    blocks = [items[i:i + size] for i in range(0, len(items), size)]
    pools = [ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) for _ in blocks]
    try:
        futures = [pool.submit(_run_block, fn, block) for pool, block in zip(pools, blocks)]
        return [result for future in futures for result in future.result()]
    finally:
        for pool in pools:
            pool.shutdown(cancel_futures=True)
